package modelgatetest

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/modelgate/modelgate"
)

// ReceiverBehaviour is how the receiver a notifier delivers to answers.
type ReceiverBehaviour int

const (
	ReceiverAccepts          ReceiverBehaviour = iota // takes every notification
	ReceiverFailsTemporarily                          // refuses with a failure a retry may pass (SMTP 4xx, HTTP 503)
	ReceiverFailsPermanently                          // refuses with a failure no retry fixes (SMTP 5xx, HTTP 400)
	ReceiverHangs                                     // accepts the connection and never answers
	ReceiverUnreachable                               // nothing listens
)

// NotifierSubject is a notifier under test and the receiver it delivers to.
type NotifierSubject struct {
	Notifier modelgate.Notifier
	// Received returns what the receiver took, oldest first, decoded from
	// the channel's encoding as its reader sees it.
	Received func(t *testing.T) []Delivery
	// Secret is a credential the notifier holds (a webhook URL's token, a
	// password) that no error may show; "" when there is none.
	Secret string
}

// Delivery is one notification as its receiver got it.
type Delivery struct {
	Title string // the headline: an e-mail's subject, a chat message's first line
	Text  string // all a person reads, the headline included or not
}

// TestNotifier runs the notifier conformance suite: every kind of
// notification arrives with the promotion's facts, failures say whether a
// retry may help (the root contract), and Notify gives up when its context
// or its own timeout ends. open returns a notifier delivering to a receiver
// that behaves as b; timeout is the notifier's own limit (0: its default).
// It is called once or more per subtest.
func TestNotifier(t *testing.T, open func(t *testing.T, b ReceiverBehaviour, timeout time.Duration) NotifierSubject) {
	tests := []struct {
		name string
		fn   func(t *testing.T, open notifierOpener)
	}{
		{"EveryKind", testEveryKind},
		{"InvalidNotificationNotSent", testInvalidNotification},
		{"TemporaryFailureRecoverable", testTemporaryFailure},
		{"PermanentFailureNotRecoverable", testPermanentFailure},
		{"UnreachableRecoverable", testUnreachable},
		{"OwnTimeoutRecoverable", testOwnTimeout},
		{"ContextEndedStops", testContextEnded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, open) })
	}
}

// notifierOpener is TestNotifier's open.
type notifierOpener = func(t *testing.T, b ReceiverBehaviour, timeout time.Duration) NotifierSubject

// notification is the suite's notification of kind: every field a person
// reads is set, one line is not ASCII.
func notification(kind string) modelgate.Notification {
	return modelgate.Notification{
		Kind: kind,
		Promotion: &modelgate.Promotion{
			ID: "20260301-120000-mgtest", Model: "demand-forecast", Version: "3", Previous: "2",
			Actor: "ci", Reasons: []string{"prediction_distribution: KS distance 0.41 above 0.025"},
		},
		Summary:    "The canary was judged against production; see the details.",
		Details:    []string{"error rate 0.4% vs 0.1%", "Prévision: écart élevé"},
		ReportPath: "/var/lib/modelgate/reports/20260301-120000-mgtest.md",
	}
}

// kinds are every notification kind, in the order the suite sends them.
var kinds = []string{modelgate.NotifyStarted, modelgate.NotifyPromoted, modelgate.NotifyRolledBack, modelgate.NotifyFailed, modelgate.NotifyHeld}

// WantNotifyFailure fails tb unless Notify's result is a failure as a
// *modelgate.Error with wantCode ("" for any code) whose recoverable flag is
// wantRecoverable.
func WantNotifyFailure(tb testing.TB, recoverable bool, err error, wantRecoverable bool, wantCode string) {
	tb.Helper()
	var e *modelgate.Error
	switch {
	case err == nil:
		tb.Fatal("Notify succeeded, want a failure")
	case !errors.As(err, &e):
		tb.Errorf("Notify: %T %v, want a *modelgate.Error", err, err)
	case recoverable != wantRecoverable || (wantCode != "" && e.Code != wantCode):
		tb.Errorf("Notify: recoverable=%v code=%s (%v), want recoverable=%v code=%s", recoverable, e.Code, err, wantRecoverable, orAny(wantCode))
	default:
		tb.Logf("Notify failed as expected: %v", err)
	}
}

func orAny(code string) string {
	if code == "" {
		return "any"
	}
	return code
}

// notifyFails sends through s, checks the failure and that no error shows
// the secret, and returns how long Notify took.
func notifyFails(t *testing.T, ctx context.Context, s NotifierSubject, wantRecoverable bool, wantCode string) time.Duration {
	t.Helper()
	start := time.Now()
	rec, err := s.Notifier.Notify(ctx, notification(modelgate.NotifyRolledBack))
	took := time.Since(start)
	WantNotifyFailure(t, rec, err, wantRecoverable, wantCode)
	if s.Secret != "" && err != nil && strings.Contains(err.Error(), s.Secret) {
		t.Errorf("the error shows the secret: %v", err)
	}
	return took
}
