package webhook_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelgate/modelgate/modelgatetest"
	"github.com/modelgate/modelgate/webhook"
)

// secret is the token part of every test webhook URL, which no error may
// show.
const secret = "SECRET-TOKEN"

// TestNotifierConformance runs the notifier suite for both formats against
// receivers served by httptest, failing with 503 (temporarily) or 400
// (permanently).
func TestNotifierConformance(t *testing.T) {
	for _, format := range []string{webhook.FormatSlack, webhook.FormatJSON} {
		t.Run(format, func(t *testing.T) {
			modelgatetest.TestNotifier(t, func(t *testing.T, b modelgatetest.ReceiverBehaviour, timeout time.Duration) modelgatetest.NotifierSubject {
				r := newHookReceiver(t, b)
				n := mustNew(t, webhook.Options{URL: r.url + "/services/" + secret, Format: format, Timeout: timeout})
				return modelgatetest.NotifierSubject{Notifier: n, Secret: secret, Received: func(t *testing.T) []modelgatetest.Delivery {
					return r.deliveries(t, format)
				}}
			})
		})
	}
}

// hookReceiver is a webhook receiver behaving as the suite asks.
type hookReceiver struct {
	url    string
	mu     sync.Mutex
	bodies [][]byte // what it accepted
}

func newHookReceiver(t *testing.T, b modelgatetest.ReceiverBehaviour) *hookReceiver {
	t.Helper()
	r := &hookReceiver{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		switch b {
		case modelgatetest.ReceiverFailsTemporarily:
			http.Error(w, "try again later", http.StatusServiceUnavailable)
		case modelgatetest.ReceiverFailsPermanently:
			http.Error(w, "invalid_payload", http.StatusBadRequest)
		case modelgatetest.ReceiverHangs:
			<-req.Context().Done()
		default:
			r.mu.Lock()
			r.bodies = append(r.bodies, body)
			r.mu.Unlock()
		}
	}))
	t.Cleanup(srv.Close)
	r.url = srv.URL
	if b == modelgatetest.ReceiverUnreachable {
		srv.Close()
	}
	return r
}

// deliveries decodes what arrived as its reader sees it: Slack's text,
// whose first line is the headline, or the JSON payload's title and text.
func (r *hookReceiver) deliveries(t *testing.T, format string) []modelgatetest.Delivery {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]modelgatetest.Delivery, len(r.bodies))
	for i, b := range r.bodies {
		var p webhook.Payload // Slack's {"text": ...} fills Text alone
		if err := json.Unmarshal(b, &p); err != nil {
			t.Fatalf("body %s: %v", b, err)
		}
		out[i] = modelgatetest.Delivery{Title: p.Title, Text: p.Text}
		if format == webhook.FormatSlack {
			out[i].Title, _, _ = strings.Cut(p.Text, "\n")
		}
	}
	return out
}
