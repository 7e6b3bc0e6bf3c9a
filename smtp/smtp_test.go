package smtp_test

import (
	"context"
	"io"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/modelgatetest"
	"github.com/modelgate/modelgate/smtp"
)

func rolledBack() modelgate.Notification {
	return modelgate.Notification{
		Kind: modelgate.NotifyRolledBack,
		Promotion: &modelgate.Promotion{
			ID: "20250115-101500-abcd", Model: "demand-forecast", Version: "3", Previous: "2",
			Actor: "ci", Reasons: []string{"prediction_distribution: KS distance 0.41 > 0.025", "mean prediction 38% above production"},
		},
		Summary:    "The canary was judged worse than production; all traffic is back on version 2.",
		Details:    []string{"error rate 0.1% vs 0.1%; " + strings.Repeat("p95 latency 12ms vs 11ms; ", 20) + "end", "Prévision: écart élevé"},
		ReportPath: "/var/lib/modelgate/reports/20250115-101500-abcd.md",
		Links:      modelgate.Links{MLflow: "http://mlflow:5000/#/models/demand-forecast/versions/3", Dashboard: "https://grafana.example.com/d/serving?var-model=demand-forecast"},
	}
}

var fixedNow = func() time.Time { return time.Date(2025, 1, 15, 10, 45, 0, 0, time.UTC) }

func TestNotifier_Notify_OK(t *testing.T) {
	s := startServer(t, serverOptions{})
	n, err := smtp.New(smtp.Options{
		Addr: s.Addr, From: "modelgate@example.com", To: []string{"ml-ops@example.com", "lead@example.com"},
		Now: fixedNow, Hostname: "gate.example.com",
	})
	if err != nil {
		t.Fatal(err)
	}
	if rec, err := n.Notify(context.Background(), rolledBack()); err != nil {
		t.Fatalf("Notify: recoverable=%v, %v", rec, err)
	}
	msgs := s.messages(t)
	if len(msgs) != 1 {
		t.Fatalf("server received %d messages, want 1", len(msgs))
	}
	got := msgs[0]
	if got.MailFrom != "modelgate@example.com" || !cmp.Equal(got.RcptTos, []string{"ml-ops@example.com", "lead@example.com"}) {
		t.Errorf("envelope: from %q to %q", got.MailFrom, got.RcptTos)
	}
	if got.TLS || got.Auth != nil {
		t.Errorf("tls=%v auth=%v, want neither", got.TLS, got.Auth)
	}
	m, body := parse(t, got.Content)
	wantHeaders := map[string]string{
		"Subject":                   "[modelgate] demand-forecast v3 rolled back",
		"From":                      `"modelgate" <modelgate@example.com>`,
		"To":                        "ml-ops@example.com, lead@example.com",
		"Date":                      "Wed, 15 Jan 2025 10:45:00 +0000",
		"Content-Type":              "text/plain; charset=utf-8",
		"Content-Transfer-Encoding": "quoted-printable",
		"X-Modelgate-Promotion":     "20250115-101500-abcd",
		"X-Modelgate-Kind":          "rolled_back",
	}
	for k, want := range wantHeaders {
		v := m.Header.Get(k)
		if k == "Subject" {
			v = decodeHeader(t, v)
		}
		if v != want {
			t.Errorf("header %s = %q, want %q", k, v, want)
		}
	}
	if id := m.Header.Get("Message-ID"); !strings.HasPrefix(id, "<") || !strings.HasSuffix(id, "@gate.example.com>") {
		t.Errorf("Message-ID = %q", id)
	}
	for _, want := range []string{
		"demand-forecast v3 rolled back.",
		"all traffic is back on version 2.",
		"Promotion 20250115-101500-abcd of demand-forecast version 3 (previous production version 2).",
		"Reasons:\r\n- prediction_distribution: KS distance 0.41 > 0.025\r\n- mean prediction 38% above production\r\n",
		rolledBack().Details[0], // a line far longer than SMTP's 998 octets... survives whole
		"Prévision: écart élevé",
		"Links:\r\n- MLflow: http://mlflow:5000/#/models/demand-forecast/versions/3\r\n- Dashboard: https://grafana.example.com/d/serving?var-model=demand-forecast\r\n",
		"Report: /var/lib/modelgate/reports/20250115-101500-abcd.md",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("body lacks %q:\n%s", want, body)
		}
	}
}

// tlsAuthServer starts a server requiring STARTTLS and the user gate, and
// returns options that reach it.
func tlsAuthServer(t *testing.T) (*server, smtp.Options) {
	t.Helper()
	s := startServer(t, serverOptions{TLS: true, User: "gate", Password: "s3cret"})
	t.Setenv("TEST_SMTP_USER", "gate")
	t.Setenv("TEST_SMTP_PASSWORD", "s3cret")
	return s, smtp.Options{
		Addr: s.Addr, StartTLS: true, CAFile: s.CAFile, UsernameEnv: "TEST_SMTP_USER", PasswordEnv: "TEST_SMTP_PASSWORD",
		From: "modelgate@example.com", To: []string{"ml-ops@example.com"},
	}
}

func TestNotifier_Notify_StartTLSAuth(t *testing.T) {
	s, o := tlsAuthServer(t)
	n := mustNew(t, o)
	nt := rolledBack()
	nt.Kind = modelgate.NotifyPromoted
	if rec, err := n.Notify(context.Background(), nt); err != nil {
		t.Fatalf("Notify: recoverable=%v, %v", rec, err)
	}
	msgs := s.messages(t)
	if len(msgs) != 1 {
		t.Fatalf("server received %d messages, want 1", len(msgs))
	}
	if !msgs[0].TLS || msgs[0].Auth == nil || *msgs[0].Auth != "gate" {
		t.Errorf("tls=%v auth=%v, want TLS and user gate", msgs[0].TLS, msgs[0].Auth)
	}
	m, _ := parse(t, msgs[0].Content)
	if got := decodeHeader(t, m.Header.Get("Subject")); got != "[modelgate] demand-forecast v3 promoted" {
		t.Errorf("Subject = %q", got)
	}

	t.Run("WrongPassword", func(t *testing.T) {
		t.Setenv("TEST_SMTP_PASSWORD", "wrong")
		rec, err := mustNew(t, o).Notify(context.Background(), nt)
		modelgatetest.WantNotifyFailure(t, rec, err, false, modelgate.EUNAUTHORIZED)
		if strings.Contains(err.Error(), "wrong") {
			t.Errorf("the error shows the password: %v", err)
		}
	})
	t.Run("UntrustedCertificate", func(t *testing.T) {
		o := o
		o.CAFile = ""
		rec, err := mustNew(t, o).Notify(context.Background(), nt)
		modelgatetest.WantNotifyFailure(t, rec, err, false, modelgate.EUNAUTHORIZED)
	})
	t.Run("NoStartTLSWhenRequired", func(t *testing.T) {
		o := o
		o.StartTLS, o.UsernameEnv, o.PasswordEnv = false, "", ""
		rec, err := mustNew(t, o).Notify(context.Background(), nt)
		modelgatetest.WantNotifyFailure(t, rec, err, false, modelgate.EUNAUTHORIZED) // 530 Must issue a STARTTLS command first
	})
	if got := len(s.messages(t)); got != 1 {
		t.Errorf("server received %d messages after the failures, want still 1", got)
	}
}

func TestNotifier_Notify_ServerWithoutStartTLS(t *testing.T) {
	s := startServer(t, serverOptions{})
	n := mustNew(t, smtp.Options{Addr: s.Addr, StartTLS: true, From: "a@example.com", To: []string{"b@example.com"}})
	rec, err := n.Notify(context.Background(), rolledBack())
	modelgatetest.WantNotifyFailure(t, rec, err, false, modelgate.EINVALID)
	if !strings.Contains(err.Error(), "STARTTLS") {
		t.Errorf("error does not name STARTTLS: %v", err)
	}
}

func TestNotifier_Notify_RecipientReplies(t *testing.T) {
	s := startServer(t, serverOptions{})
	for _, tc := range []struct {
		name, to    string
		recoverable bool
	}{
		{"TempFail451", "tempfail@example.com", true},
		{"Reject550", "reject@example.com", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := mustNew(t, smtp.Options{Addr: s.Addr, From: "a@example.com", To: []string{"ok@example.com", tc.to}})
			rec, err := n.Notify(context.Background(), rolledBack())
			modelgatetest.WantNotifyFailure(t, rec, err, tc.recoverable, modelgate.EUNAVAILABLE)
			if !strings.Contains(err.Error(), tc.to) {
				t.Errorf("error does not name the recipient: %v", err)
			}
		})
	}
	if got := len(s.messages(t)); got != 0 {
		t.Errorf("server accepted %d messages, want 0", got)
	}
}

func TestNew_Invalid(t *testing.T) {
	t.Setenv("TEST_SMTP_EMPTY", "")
	ok := smtp.Options{Addr: "mail.example.com:587", From: "a@example.com", To: []string{"b@example.com"}}
	for name, mod := range map[string]func(*smtp.Options){
		"NoAddr":           func(o *smtp.Options) { o.Addr = "" },
		"AddrWithoutPort":  func(o *smtp.Options) { o.Addr = "mail.example.com" },
		"NoFrom":           func(o *smtp.Options) { o.From = "" },
		"NoTo":             func(o *smtp.Options) { o.To = nil },
		"HeaderInjection":  func(o *smtp.Options) { o.To = []string{"b@example.com\r\nBcc: x@evil.example"} },
		"PasswordEnvAlone": func(o *smtp.Options) { o.PasswordEnv = "TEST_SMTP_EMPTY" },
		"CredentialsUnset": func(o *smtp.Options) { o.UsernameEnv, o.PasswordEnv = "TEST_SMTP_EMPTY", "TEST_SMTP_EMPTY" },
		"MissingCAFile":    func(o *smtp.Options) { o.StartTLS, o.CAFile = true, "/nonexistent/ca.pem" },
	} {
		t.Run(name, func(t *testing.T) {
			o := ok
			mod(&o)
			if _, err := smtp.New(o); modelgate.ErrorCode(err) != modelgate.EINVALID {
				t.Errorf("New: %v, want an EINVALID error", err)
			}
		})
	}
	if _, err := smtp.New(ok); err != nil {
		t.Errorf("New(valid): %v", err)
	}
}

func TestSubject(t *testing.T) {
	nt := rolledBack()
	for kind, want := range map[string]string{
		modelgate.NotifyStarted:    "[modelgate] demand-forecast v3 promotion started",
		modelgate.NotifyPromoted:   "[modelgate] demand-forecast v3 promoted",
		modelgate.NotifyRolledBack: "[modelgate] demand-forecast v3 rolled back",
		modelgate.NotifyFailed:     "[modelgate] demand-forecast v3 promotion failed",
		modelgate.NotifyHeld:       "[modelgate] demand-forecast v3 promotion held for a person",
	} {
		nt.Kind = kind
		if got := smtp.Subject(nt); got != want {
			t.Errorf("Subject(%s) = %q, want %q", kind, got, want)
		}
	}
}

func mustNew(t *testing.T, o smtp.Options) *smtp.Notifier {
	t.Helper()
	n, err := smtp.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// parse reads a received message and decodes its quoted-printable body.
func parse(t *testing.T, raw string) (*mail.Message, string) {
	t.Helper()
	m, err := mail.ReadMessage(strings.NewReader(raw))
	if err != nil {
		t.Fatalf("parse message: %v\n%s", err, raw)
	}
	body, err := io.ReadAll(quotedprintable.NewReader(m.Body))
	if err != nil {
		t.Fatalf("decode body: %v", err)
	}
	return m, string(body)
}

func decodeHeader(t *testing.T, v string) string {
	t.Helper()
	s, err := new(mime.WordDecoder).DecodeHeader(v)
	if err != nil {
		t.Fatalf("decode header %q: %v", v, err)
	}
	return s
}

// Probe greets, upgrades and authenticates as Notify would, and sends
// nothing; it fails as Notify fails.
func TestNotifier_Probe(t *testing.T) {
	s, o := tlsAuthServer(t)
	if err := mustNew(t, o).Probe(context.Background()); err != nil {
		t.Fatalf("Probe: %v", err)
	}
	t.Setenv("TEST_SMTP_PASSWORD", "wrong")
	if err := mustNew(t, o).Probe(context.Background()); modelgate.ErrorCode(err) != modelgate.EUNAUTHORIZED {
		t.Errorf("Probe with a wrong password = %v, want EUNAUTHORIZED", err)
	}
	if got := len(s.messages(t)); got != 0 {
		t.Errorf("server received %d messages from probes, want none", got)
	}
	o.Addr = freeAddr(t) // nothing listens there
	if err := mustNew(t, o).Probe(context.Background()); modelgate.ErrorCode(err) != modelgate.EUNAVAILABLE {
		t.Errorf("Probe of a closed port = %v, want EUNAVAILABLE", err)
	}
}
