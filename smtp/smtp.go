package smtp

import (
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	netsmtp "net/smtp"
	"net/textproto"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/modelgate/modelgate"
)

// Options configure a Notifier. Credentials never appear here, only the
// names of the environment variables holding them.
type Options struct {
	Addr        string        // the SMTP server, host:port (e.g. smtp.example.com:587); required
	StartTLS    bool          // upgrade with STARTTLS before anything else; a server without it is an error
	CAFile      string        // PEM bundle trusted for STARTTLS besides the system roots
	UsernameEnv string        // environment variable holding the PLAIN auth user name; "" means no auth
	PasswordEnv string        // environment variable holding the password; required with UsernameEnv
	From        string        // the sender address; required
	To          []string      // the recipients; at least one
	HelloName   string        // the name sent in EHLO; default "localhost"
	Timeout     time.Duration // the whole exchange, connect to QUIT; default 30s

	Now      func() time.Time // for the Date header; default time.Now
	Hostname string           // the right-hand side of Message-ID; default os.Hostname()
}

// Notifier e-mails notifications through an SMTP server.
type Notifier struct {
	opts      Options
	host      string
	tlsConfig *tls.Config
	auth      netsmtp.Auth
}

var (
	_ modelgate.Notifier = (*Notifier)(nil)
	_ modelgate.Prober   = (*Notifier)(nil)
)

// New checks the options, reads the credentials from the environment
// variables they name and returns a Notifier. It does not connect.
func New(o Options) (*Notifier, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	host, _, err := net.SplitHostPort(o.Addr)
	if err != nil {
		return nil, modelgate.Errorf(modelgate.EINVALID, "invalid smtp address %q: want host:port", o.Addr)
	}
	n := &Notifier{opts: o, host: host}
	if o.Timeout <= 0 {
		n.opts.Timeout = 30 * time.Second
	}
	if o.HelloName == "" {
		n.opts.HelloName = "localhost"
	}
	if o.StartTLS {
		if n.tlsConfig, err = tlsConfig(host, o.CAFile); err != nil {
			return nil, err
		}
	}
	if o.UsernameEnv != "" {
		user, pass := os.Getenv(o.UsernameEnv), os.Getenv(o.PasswordEnv)
		if user == "" || pass == "" {
			return nil, modelgate.Errorf(modelgate.EINVALID, "smtp credentials missing: set $%s and $%s", o.UsernameEnv, o.PasswordEnv)
		}
		n.auth = netsmtp.PlainAuth("", user, pass, host)
	}
	return n, nil
}

func (o Options) validate() error {
	switch {
	case o.Addr == "":
		return modelgate.Errorf(modelgate.EINVALID, "smtp address missing: want host:port")
	case !validAddress(o.From):
		return modelgate.Errorf(modelgate.EINVALID, "invalid smtp sender %q: want an e-mail address", o.From)
	case len(o.To) == 0:
		return modelgate.Errorf(modelgate.EINVALID, "smtp recipients missing")
	case o.UsernameEnv != "" && o.PasswordEnv == "":
		return modelgate.Errorf(modelgate.EINVALID, "smtp password variable missing: name it next to the user name variable %s", o.UsernameEnv)
	case o.UsernameEnv == "" && o.PasswordEnv != "":
		return modelgate.Errorf(modelgate.EINVALID, "smtp user name variable missing: name it next to the password variable %s", o.PasswordEnv)
	}
	for _, to := range o.To {
		if !validAddress(to) {
			return modelgate.Errorf(modelgate.EINVALID, "invalid smtp recipient %q: want an e-mail address", to)
		}
	}
	return nil
}

// validAddress accepts a bare address, without CR or LF (header injection).
func validAddress(a string) bool {
	return strings.Count(a, "@") == 1 && !strings.ContainsAny(a, "\r\n<> ,")
}

func tlsConfig(host, caFile string) (*tls.Config, error) {
	c := &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	if caFile == "" {
		return c, nil
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, modelgate.Errorf(modelgate.EINVALID, "read smtp ca_file: %v", err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, modelgate.Errorf(modelgate.EINVALID, "smtp ca_file %s holds no PEM certificate", caFile)
	}
	c.RootCAs = pool
	return c, nil
}

// String names the notifier in logs and errors.
func (n *Notifier) String() string { return "smtp " + n.opts.Addr }

// Notify sends n as one plain-text e-mail to every recipient.
func (n *Notifier) Notify(ctx context.Context, nt modelgate.Notification) (bool, error) {
	if err := nt.Validate(); err != nil {
		return false, err
	}
	msg := n.message(nt)
	if err := n.send(ctx, msg); err != nil {
		return translate(ctx, n.opts.Addr, err)
	}
	return false, nil
}

// Probe is a dry check of the server: it connects, greets (EHLO),
// upgrades with STARTTLS and authenticates as configured, then quits
// without sending anything. It fails as Notify would.
func (n *Notifier) Probe(ctx context.Context) error {
	err := n.session(ctx, func(c *netsmtp.Client) error { return c.Quit() })
	if err != nil {
		_, err = translate(ctx, n.opts.Addr, err)
	}
	return err
}

// send runs one SMTP exchange, bounded by the timeout and ctx.
func (n *Notifier) send(ctx context.Context, msg []byte) error {
	return n.session(ctx, func(c *netsmtp.Client) error {
		if err := c.Mail(n.opts.From); err != nil {
			return fmt.Errorf("MAIL FROM: %w", err)
		}
		for _, to := range n.opts.To {
			if err := c.Rcpt(to); err != nil {
				return fmt.Errorf("RCPT TO %s: %w", to, err)
			}
		}
		if err := data(c, msg); err != nil {
			return err
		}
		_ = c.Quit() // the message is accepted; a failed QUIT loses nothing
		return nil
	})
}

// session connects, greets and authenticates, then runs do, bounded by
// the timeout and ctx.
func (n *Notifier) session(ctx context.Context, do func(*netsmtp.Client) error) error {
	ctx, cancel := context.WithTimeout(ctx, n.opts.Timeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", n.opts.Addr)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer conn.Close()
	deadline, _ := ctx.Deadline()
	_ = conn.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Now()) })
	defer stop()

	c, err := netsmtp.NewClient(conn, n.host)
	if err != nil {
		return fmt.Errorf("greeting: %w", err)
	}
	defer c.Close()
	if err := n.hello(c); err != nil {
		return err
	}
	return do(c)
}

// hello sends EHLO, STARTTLS and AUTH as configured.
func (n *Notifier) hello(c *netsmtp.Client) error {
	if err := c.Hello(n.opts.HelloName); err != nil {
		return fmt.Errorf("EHLO: %w", err)
	}
	if n.tlsConfig != nil {
		if ok, _ := c.Extension("STARTTLS"); !ok {
			return permanent{modelgate.Errorf(modelgate.EINVALID, "the server does not offer STARTTLS, which the configuration requires")}
		}
		if err := c.StartTLS(n.tlsConfig); err != nil {
			return fmt.Errorf("STARTTLS: %w", err)
		}
	}
	if n.auth != nil {
		if ok, _ := c.Extension("AUTH"); !ok {
			return permanent{modelgate.Errorf(modelgate.EINVALID, "the server does not offer AUTH (does it need STARTTLS?)")}
		}
		if err := c.Auth(n.auth); err != nil {
			return fmt.Errorf("AUTH: %w", err)
		}
	}
	return nil
}

func data(c *netsmtp.Client, msg []byte) error {
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("DATA: %w", err)
	}
	if _, err := w.Write(msg); err != nil {
		return fmt.Errorf("DATA: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("DATA: %w", err)
	}
	return nil
}

// permanent marks a failure no retry can fix (a configuration mismatch).
type permanent struct{ error }

func (p permanent) Unwrap() error { return p.error }

// gaveUp reports whether the caller's ctx has ended. The connection's
// deadline is ctx's, so at a deadline the read fails before ctx's own timer
// marks ctx done: a deadline passed counts as ended.
func gaveUp(ctx context.Context) bool {
	d, ok := ctx.Deadline()
	return ctx.Err() != nil || (ok && !time.Now().Before(d))
}

// translate turns a failed exchange into a *modelgate.Error and says
// whether retrying may help: a 4xx reply or a network failure may pass, a
// 5xx reply, a certificate or configuration problem will not.
func translate(ctx context.Context, addr string, err error) (bool, error) {
	wrap := func(code string, recoverable bool) (bool, error) {
		return recoverable, &modelgate.Error{Code: code, Message: fmt.Sprintf("send e-mail via %s: %v", addr, err), Err: err}
	}
	var tp *textproto.Error
	var p permanent
	var ne net.Error
	var cv *tls.CertificateVerificationError
	switch {
	case errors.As(err, &tp):
		code := modelgate.EUNAVAILABLE
		if tp.Code == 530 || tp.Code == 534 || tp.Code == 535 {
			code = modelgate.EUNAUTHORIZED // authentication (or STARTTLS first) required, or refused
		}
		return wrap(code, tp.Code/100 == 4)
	case errors.As(err, &p):
		return wrap(modelgate.EINVALID, false)
	case errors.As(err, &cv):
		return wrap(modelgate.EUNAUTHORIZED, false)
	case gaveUp(ctx): // the caller gave up; its retries stop too
		cause := cmp.Or(context.Cause(ctx), context.DeadlineExceeded)
		return false, &modelgate.Error{Code: modelgate.EUNAVAILABLE, Message: fmt.Sprintf("send e-mail via %s: %v (%v)", addr, cause, err), Err: err}
	case errors.As(err, &ne), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.ECONNREFUSED):
		return wrap(modelgate.EUNAVAILABLE, true)
	}
	// net/smtp's own refusals (PLAIN auth over an unencrypted connection,
	// a wrong host name) and anything unknown: configuration, not luck.
	return wrap(modelgate.EINVALID, false)
}
