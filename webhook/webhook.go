package webhook

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/modelgate/modelgate"
)

// Formats of the request body.
const (
	FormatJSON  = "json"  // Payload, the whole notification (the default)
	FormatSlack = "slack" // Slack's incoming-webhook message, {"text": "..."}
)

// Options configure a Notifier. A webhook URL is a secret (Slack's carries
// its token), so it may come from an environment variable instead, and it is
// never shown whole in errors or logs.
type Options struct {
	URL     string        // where to POST; http or https; exactly one of URL and URLEnv
	URLEnv  string        // environment variable holding the URL
	Format  string        // FormatJSON ("" too) or FormatSlack
	Timeout time.Duration // one request, answer included; default 10s
	Client  *http.Client  // default a new client with Timeout
}

// Payload is the body of a FormatJSON request.
type Payload struct {
	Kind       string               `json:"kind"`  // started, promoted, rolled_back, failed, held
	Title      string               `json:"title"` // e.g. "demand-forecast v3 rolled back"
	Summary    string               `json:"summary,omitempty"`
	Details    []string             `json:"details,omitempty"`
	ReportPath string               `json:"report_path,omitempty"`
	ReportHTML string               `json:"report_html,omitempty"`
	Links      []modelgate.Link     `json:"links,omitempty"` // the promotion's links, in order
	Text       string               `json:"text"`            // the whole notification as plain text
	Promotion  *modelgate.Promotion `json:"promotion"`
}

// Notifier POSTs notifications to one webhook.
type Notifier struct {
	url    string
	format string
	client *http.Client
	name   string // scheme and host only, for errors and logs
}

var (
	_ modelgate.Notifier = (*Notifier)(nil)
	_ modelgate.Prober   = (*Notifier)(nil)
)

// New checks the options, reads the URL (from the environment when URLEnv
// names a variable) and returns a Notifier. It does not connect.
func New(o Options) (*Notifier, error) {
	raw := o.URL
	switch {
	case o.URL != "" && o.URLEnv != "":
		return nil, modelgate.Errorf(modelgate.EINVALID, "webhook: set url or url_env, not both")
	case o.URLEnv != "":
		if raw = os.Getenv(o.URLEnv); raw == "" {
			return nil, modelgate.Errorf(modelgate.EINVALID, "webhook url missing: set $%s", o.URLEnv)
		}
	case o.URL == "":
		return nil, modelgate.Errorf(modelgate.EINVALID, "webhook url missing: set url or url_env")
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, modelgate.Errorf(modelgate.EINVALID, "invalid webhook url: want http(s)://host/path")
	}
	switch o.Format {
	case "", FormatJSON, FormatSlack:
	default:
		return nil, modelgate.Errorf(modelgate.EINVALID, "invalid webhook format %q: must be json or slack", o.Format)
	}
	n := &Notifier{url: raw, format: o.Format, client: o.Client, name: u.Scheme + "://" + u.Host}
	if n.format == "" {
		n.format = FormatJSON
	}
	if n.client == nil {
		timeout := o.Timeout
		if timeout <= 0 {
			timeout = 10 * time.Second
		}
		n.client = &http.Client{Timeout: timeout}
	}
	return n, nil
}

// Probe is a dry check of the webhook's host: it opens a connection (and a
// TLS session for https) to it and closes it without sending a request, as
// a POST would post a message.
func (n *Notifier) Probe(ctx context.Context) error {
	u, err := url.Parse(n.url)
	if err != nil {
		return modelgate.Errorf(modelgate.EINVALID, "webhook %s: %v", n.name, redact(err))
	}
	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), map[string]string{"http": "80", "https": "443"}[u.Scheme])
	}
	var conn net.Conn
	if u.Scheme == "https" {
		conn, err = (&tls.Dialer{Config: &tls.Config{ServerName: u.Hostname(), MinVersion: tls.VersionTLS12}}).DialContext(ctx, "tcp", addr)
	} else {
		conn, err = (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	}
	if err != nil {
		return modelgate.Errorf(modelgate.EUNAVAILABLE, "webhook %s: %v", n.name, err)
	}
	return conn.Close()
}

// String names the notifier without the URL's path, which may be a secret.
func (n *Notifier) String() string { return "webhook " + n.format + " " + n.name }

// Notify POSTs n in the configured format.
func (n *Notifier) Notify(ctx context.Context, nt modelgate.Notification) (bool, error) {
	if err := nt.Validate(); err != nil {
		return false, err
	}
	body, err := n.body(nt)
	if err != nil {
		return false, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.url, bytes.NewReader(body))
	if err != nil {
		return false, modelgate.Errorf(modelgate.EINVALID, "webhook %s: %v", n.name, redact(err))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "modelgate")
	resp, err := n.client.Do(req)
	if err != nil {
		return n.networkError(ctx, err)
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20)) // keep the connection reusable
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return false, nil
	}
	return n.statusError(resp.StatusCode, snippet)
}

func (n *Notifier) body(nt modelgate.Notification) ([]byte, error) {
	var v any = Payload{
		Kind: nt.Kind, Title: nt.Title(), Summary: nt.Summary, Details: nt.Details,
		ReportPath: nt.ReportPath, ReportHTML: nt.ReportHTML, Links: nt.Links.List(), Text: nt.Text(), Promotion: nt.Promotion,
	}
	if n.format == FormatSlack {
		v = map[string]string{"text": SlackText(nt)}
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, modelgate.Errorf(modelgate.EINTERNAL, "encode webhook body: %v", err)
	}
	return b, nil
}

// SlackText is the Slack message of nt: the title in bold, then the plain
// text, escaped as Slack's mrkdwn requires.
func SlackText(nt modelgate.Notification) string {
	esc := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")
	rest := strings.TrimPrefix(nt.Text(), nt.Title()+".\n")
	return "*[modelgate] " + esc.Replace(nt.Title()) + "*\n" + esc.Replace(strings.TrimSpace(rest))
}

// networkError: the request never got an answer. Retrying may help unless
// the caller gave up.
func (n *Notifier) networkError(ctx context.Context, err error) (bool, error) {
	e := &modelgate.Error{Code: modelgate.EUNAVAILABLE, Message: fmt.Sprintf("webhook %s: %v", n.name, redact(err)), Err: redact(err)}
	if ctx.Err() != nil {
		e.Message = fmt.Sprintf("webhook %s: %v", n.name, context.Cause(ctx))
		return false, e
	}
	return true, e
}

// statusError: 408, 429 and 5xx may pass on a retry; other answers will not.
func (n *Notifier) statusError(status int, body []byte) (bool, error) {
	msg := fmt.Sprintf("webhook %s answered %d %s", n.name, status, http.StatusText(status))
	if s := strings.TrimSpace(string(body)); s != "" {
		msg += ": " + strings.Join(strings.Fields(s), " ")
	}
	code, recoverable := modelgate.EINVALID, false
	switch {
	case status == http.StatusTooManyRequests, status == http.StatusRequestTimeout, status >= 500:
		code, recoverable = modelgate.EUNAVAILABLE, true
	case status == http.StatusUnauthorized, status == http.StatusForbidden:
		code = modelgate.EUNAUTHORIZED
	case status == http.StatusNotFound, status == http.StatusGone:
		code = modelgate.ENOTFOUND
	}
	return recoverable, modelgate.Errorf(code, "%s", msg)
}

// redact drops the URL (path and query may hold a token) from net/http's
// errors, keeping the cause.
func redact(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return err
}
