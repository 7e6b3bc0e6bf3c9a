package modelgatetest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/modelgate/modelgate"
)

// slow bounds how long a Notify that must give up may take: well above the
// limits the subtests set, well below a hang.
const slow = 10 * time.Second

// Every kind arrives, in order, with its headline and the promotion's facts.
func testEveryKind(t *testing.T, open notifierOpener) {
	s := open(t, ReceiverAccepts, 0)
	for _, kind := range kinds {
		if rec, err := s.Notifier.Notify(t.Context(), notification(kind)); err != nil {
			t.Fatalf("Notify(%s): recoverable=%v, %v", kind, rec, err)
		}
	}
	got := s.Received(t)
	if len(got) != len(kinds) {
		t.Fatalf("the receiver got %d notifications, want %d", len(got), len(kinds))
	}
	for i, kind := range kinds {
		wantDelivered(t, got[i], notification(kind))
	}
}

// wantDelivered checks d shows n's headline and every fact a person needs.
func wantDelivered(t *testing.T, d Delivery, n modelgate.Notification) {
	t.Helper()
	if !strings.Contains(d.Title, n.Title()) {
		t.Errorf("%s: headline %q does not hold %q", n.Kind, d.Title, n.Title())
	}
	p := n.Promotion
	want := append([]string{p.ID, p.Model, "version " + p.Version, n.Summary, n.ReportPath}, p.Reasons...)
	for _, w := range append(want, n.Details...) {
		if !strings.Contains(d.Text, w) {
			t.Errorf("%s: the text lacks %q:\n%s", n.Kind, w, d.Text)
		}
	}
}

// An invalid notification is refused before anything is sent.
func testInvalidNotification(t *testing.T, open notifierOpener) {
	s := open(t, ReceiverAccepts, 0)
	noPromotion := notification(modelgate.NotifyFailed)
	noPromotion.Promotion = nil
	for _, n := range []modelgate.Notification{notification("exploded"), noPromotion} {
		rec, err := s.Notifier.Notify(t.Context(), n)
		WantNotifyFailure(t, rec, err, false, modelgate.EINVALID)
	}
	if got := s.Received(t); len(got) != 0 {
		t.Errorf("the receiver got %d invalid notifications: %+v", len(got), got)
	}
}

func testTemporaryFailure(t *testing.T, open notifierOpener) {
	notifyFails(t, t.Context(), open(t, ReceiverFailsTemporarily, 0), true, modelgate.EUNAVAILABLE)
}

// A permanent refusal is not recoverable; its code is the notifier's to
// choose.
func testPermanentFailure(t *testing.T, open notifierOpener) {
	notifyFails(t, t.Context(), open(t, ReceiverFailsPermanently, 0), false, "")
}

func testUnreachable(t *testing.T, open notifierOpener) {
	notifyFails(t, t.Context(), open(t, ReceiverUnreachable, 0), true, modelgate.EUNAVAILABLE)
}

// The notifier's own timeout ends a hanging delivery, and a retry may pass.
func testOwnTimeout(t *testing.T, open notifierOpener) {
	if took := notifyFails(t, t.Context(), open(t, ReceiverHangs, 200*time.Millisecond), true, modelgate.EUNAVAILABLE); took > slow {
		t.Errorf("Notify took %s with a 200ms timeout", took)
	}
}

// When the caller's context ends (a deadline, a cancel), Notify stops at
// once and says retrying is pointless: the caller gave up.
func testContextEnded(t *testing.T, open notifierOpener) {
	for what, end := range map[string]func(context.Context) (context.Context, context.CancelFunc){
		"deadline": func(ctx context.Context) (context.Context, context.CancelFunc) {
			return context.WithTimeout(ctx, 200*time.Millisecond)
		},
		"cancel": func(ctx context.Context) (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(ctx)
			time.AfterFunc(200*time.Millisecond, cancel)
			return ctx, cancel
		},
	} {
		ctx, cancel := end(t.Context())
		if took := notifyFails(t, ctx, open(t, ReceiverHangs, time.Hour), false, modelgate.EUNAVAILABLE); took > slow {
			t.Errorf("Notify took %s after a %s at 200ms", took, what)
		}
		cancel()
	}
}
