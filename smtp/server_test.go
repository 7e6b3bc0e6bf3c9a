package smtp_test

import (
	"bufio"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The integration tests run against a real SMTP server, aiosmtpd, started
// from the virtualenv scripts/smtp-env installs ($MODELGATE_SMTP_VENV,
// default <repo>/.cache/smtp-venv) with the handler testdata/mailsink.py.
// Without it they skip, unless MODELGATE_REQUIRE_INTEGRATION=1 makes that a
// failure.

// venv returns the virtualenv directory, or skips (fails when integration
// is required) if it is missing.
func venv(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("MODELGATE_SMTP_VENV")
	if dir == "" {
		root, err := filepath.Abs("..")
		if err != nil {
			t.Fatal(err)
		}
		dir = filepath.Join(root, ".cache", "smtp-venv")
	}
	py := filepath.Join(dir, "bin", "python")
	if err := exec.Command(py, "-c", "import aiosmtpd").Run(); err != nil {
		msg := fmt.Sprintf("no aiosmtpd virtualenv at %s (%v); install it with scripts/smtp-env", dir, err)
		if os.Getenv("MODELGATE_REQUIRE_INTEGRATION") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return dir
}

// server is one aiosmtpd process writing what it accepts to Dir.
type server struct {
	Addr   string // 127.0.0.1:port
	Dir    string // received messages, <n>.json
	CAFile string // the self-signed certificate, with TLS
}

type serverOptions struct {
	TLS            bool // offer (and require) STARTTLS
	User, Password string
}

// received is what mailsink.py records of one accepted message.
type received struct {
	MailFrom string   `json:"mail_from"`
	RcptTos  []string `json:"rcpt_tos"`
	TLS      bool     `json:"tls"`
	Auth     *string  `json:"auth"`
	Content  string   `json:"content"`
}

// startServer starts aiosmtpd on a free loopback port and stops it when t
// ends.
func startServer(t *testing.T, o serverOptions) *server {
	t.Helper()
	py := filepath.Join(venv(t), "bin", "python")
	testdata, err := filepath.Abs("testdata")
	if err != nil {
		t.Fatal(err)
	}
	s := &server{Addr: freeAddr(t), Dir: t.TempDir()}
	args := []string{"-m", "aiosmtpd", "-n", "-l", s.Addr, "-c", "mailsink.Sink"}
	if o.TLS {
		cert, key := selfSigned(t)
		s.CAFile = cert
		args = append(args, "--tlscert", cert, "--tlskey", key)
	}
	args = append(args, s.Dir)
	if o.User != "" {
		args = append(args, o.User, o.Password)
	}
	cmd := exec.Command(py, args...)
	cmd.Env = append(os.Environ(), "PYTHONPATH="+testdata, "PYTHONUNBUFFERED=1", "PYTHONDONTWRITEBYTECODE=1")
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start aiosmtpd: %v", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-done
		if t.Failed() {
			t.Logf("aiosmtpd output:\n%s", stderr.String())
		}
	})
	if err := waitBanner(s.Addr, done, 15*time.Second); err != nil {
		t.Fatalf("aiosmtpd on %s: %v\n%s", s.Addr, err, stderr.String())
	}
	return s
}

// waitBanner waits until the server greets with 220.
func waitBanner(addr string, exited <-chan struct{}, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return fmt.Errorf("exited before it listened")
		default:
		}
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
			line, rerr := bufio.NewReader(conn).ReadString('\n')
			_, _ = conn.Write([]byte("QUIT\r\n"))
			conn.Close()
			if rerr == nil && strings.HasPrefix(line, "220") {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("no 220 greeting within %s", limit)
}

// freeAddr returns a loopback address nothing listens on right now.
func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// messages returns what the server accepted, in order.
func (s *server) messages(t *testing.T) []received {
	t.Helper()
	var out []received
	for i := 1; ; i++ {
		b, err := os.ReadFile(filepath.Join(s.Dir, fmt.Sprintf("%d.json", i)))
		if os.IsNotExist(err) {
			return out
		} else if err != nil {
			t.Fatal(err)
		}
		var r received
		if err := json.Unmarshal(b, &r); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
}

// selfSigned writes a certificate for 127.0.0.1 and its key, returning
// their paths; the certificate is its own CA.
func selfSigned(t *testing.T) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "modelgate test smtp"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	pk, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pk}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}
