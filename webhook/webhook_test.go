package webhook_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/modelgatetest"
	"github.com/modelgate/modelgate/webhook"
)

func rolledBack() modelgate.Notification {
	return modelgate.Notification{
		Kind: modelgate.NotifyRolledBack,
		Promotion: &modelgate.Promotion{
			ID: "20250115-101500-abcd", Model: "demand-forecast", Version: "3", Previous: "2",
			Outcome: modelgate.OutcomeRolledBack, Reasons: []string{"KS distance 0.41 > 0.025 <drift>"},
		},
		Summary:    "The canary was judged worse; all traffic is back on version 2.",
		Details:    []string{"error rate 0.1% vs 0.1%"},
		ReportPath: "/var/lib/modelgate/reports/20250115-101500-abcd.md",
		Links:      modelgate.Links{Pipeline: "https://ci.example.com/runs/812", PR: "https://github.com/acme/forecast/pull/42"},
	}
}

// request is what the fake receiver saw.
type request struct {
	Method, Path, ContentType string
	Body                      []byte
}

// receiver answers every request with status and records it.
func receiver(t *testing.T, status int, answer string) (*httptest.Server, <-chan request) {
	t.Helper()
	got := make(chan request, 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- request{r.Method, r.URL.Path, r.Header.Get("Content-Type"), b}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, answer)
	}))
	t.Cleanup(srv.Close)
	return srv, got
}

func TestNotifier_Notify_Slack(t *testing.T) {
	srv, got := receiver(t, http.StatusOK, "ok")
	n := mustNew(t, webhook.Options{URL: srv.URL + "/services/T000/B000/XXXX", Format: webhook.FormatSlack})
	if rec, err := n.Notify(context.Background(), rolledBack()); err != nil {
		t.Fatalf("Notify: recoverable=%v, %v", rec, err)
	}
	r := <-got
	if r.Method != http.MethodPost || r.Path != "/services/T000/B000/XXXX" || r.ContentType != "application/json" {
		t.Errorf("request %s %s (%s)", r.Method, r.Path, r.ContentType)
	}
	var body map[string]string
	if err := json.Unmarshal(r.Body, &body); err != nil {
		t.Fatalf("body %s: %v", r.Body, err)
	}
	if len(body) != 1 {
		t.Errorf("Slack body has keys besides text: %s", r.Body)
	}
	text := body["text"]
	for _, want := range []string{
		"*[modelgate] demand-forecast v3 rolled back*\n",
		"all traffic is back on version 2.",
		"- KS distance 0.41 &gt; 0.025 &lt;drift&gt;", // mrkdwn escapes
		"Links:\n- Pipeline run: https://ci.example.com/runs/812\n- Pull request: https://github.com/acme/forecast/pull/42\n",
		"Report: /var/lib/modelgate/reports/20250115-101500-abcd.md",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("text lacks %q:\n%s", want, text)
		}
	}
}

func TestNotifier_Notify_JSON(t *testing.T) {
	srv, got := receiver(t, http.StatusAccepted, "")
	n := mustNew(t, webhook.Options{URL: srv.URL + "/hook"})
	nt := rolledBack()
	if rec, err := n.Notify(context.Background(), nt); err != nil {
		t.Fatalf("Notify: recoverable=%v, %v", rec, err)
	}
	var p webhook.Payload
	if err := json.Unmarshal((<-got).Body, &p); err != nil {
		t.Fatal(err)
	}
	want := webhook.Payload{
		Kind: "rolled_back", Title: "demand-forecast v3 rolled back", Summary: nt.Summary, Details: nt.Details,
		ReportPath: nt.ReportPath, Text: nt.Text(), Promotion: nt.Promotion,
		Links: []modelgate.Link{{Name: "pipeline", Title: "Pipeline run", URL: "https://ci.example.com/runs/812"},
			{Name: "pr", Title: "Pull request", URL: "https://github.com/acme/forecast/pull/42"}},
	}
	if !strings.Contains(p.Text, "- Pull request: https://github.com/acme/forecast/pull/42") {
		t.Errorf("text lacks the links:\n%s", p.Text)
	}
	if diff := cmp.Diff(want, p); diff != "" {
		t.Errorf("payload (-want +got):\n%s", diff)
	}
}

func TestNotifier_Notify_Status(t *testing.T) {
	for _, tc := range []struct {
		status      int
		recoverable bool
		code        string
	}{
		{http.StatusInternalServerError, true, modelgate.EUNAVAILABLE},
		{http.StatusServiceUnavailable, true, modelgate.EUNAVAILABLE},
		{http.StatusTooManyRequests, true, modelgate.EUNAVAILABLE},
		{http.StatusBadRequest, false, modelgate.EINVALID},
		{http.StatusForbidden, false, modelgate.EUNAUTHORIZED},
		{http.StatusNotFound, false, modelgate.ENOTFOUND},
	} {
		t.Run(http.StatusText(tc.status), func(t *testing.T) {
			srv, _ := receiver(t, tc.status, "invalid_payload\n")
			n := mustNew(t, webhook.Options{URL: srv.URL + "/services/SECRET-TOKEN", Format: webhook.FormatSlack})
			rec, err := n.Notify(context.Background(), rolledBack())
			modelgatetest.WantNotifyFailure(t, rec, err, tc.recoverable, tc.code)
			if !strings.Contains(err.Error(), "invalid_payload") || strings.Contains(err.Error(), "SECRET") {
				t.Errorf("error lacks the receiver's answer or shows the URL's secret path: %v", err)
			}
		})
	}
}

func TestNew(t *testing.T) {
	t.Setenv("TEST_WEBHOOK_URL", "https://hooks.example.com/services/SECRET-TOKEN")
	t.Setenv("TEST_WEBHOOK_EMPTY", "")
	n := mustNew(t, webhook.Options{URLEnv: "TEST_WEBHOOK_URL", Format: webhook.FormatSlack})
	if got, want := n.String(), "webhook slack https://hooks.example.com"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	for name, o := range map[string]webhook.Options{
		"NoURL":      {},
		"Both":       {URL: "https://a.example.com/x", URLEnv: "TEST_WEBHOOK_URL"},
		"EnvUnset":   {URLEnv: "TEST_WEBHOOK_EMPTY"},
		"NotHTTP":    {URL: "ftp://a.example.com/x"},
		"NoHost":     {URL: "https:///x"},
		"BadFormat":  {URL: "https://a.example.com/x", Format: "teams"},
		"NotAbsURL":  {URL: "hooks.example.com/x"},
		"BadEscapes": {URL: "https://a.example.com/%zz"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := webhook.New(o)
			if modelgate.ErrorCode(err) != modelgate.EINVALID {
				t.Fatalf("New: %v, want EINVALID", err)
			}
			if strings.Contains(err.Error(), "SECRET") {
				t.Errorf("error shows the URL: %v", err)
			}
		})
	}
}

func mustNew(t *testing.T, o webhook.Options) *webhook.Notifier {
	t.Helper()
	n, err := webhook.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// Probe connects to the webhook's host and sends no request.
func TestNotifier_Probe(t *testing.T) {
	srv, got := receiver(t, http.StatusOK, "ok")
	n := mustNew(t, webhook.Options{URL: srv.URL + "/services/T000/B000/XXXX", Format: webhook.FormatSlack})
	if err := n.Probe(context.Background()); err != nil {
		t.Fatalf("Probe: %v", err)
	}
	select {
	case r := <-got:
		t.Errorf("Probe sent a request: %s %s", r.Method, r.Path)
	default:
	}
	srv.Close()
	err := n.Probe(context.Background())
	if modelgate.ErrorCode(err) != modelgate.EUNAVAILABLE || strings.Contains(err.Error(), "XXXX") {
		t.Errorf("Probe of a closed server = %v, want EUNAVAILABLE without the URL's path", err)
	}
}
