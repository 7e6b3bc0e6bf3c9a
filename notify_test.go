package modelgate_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/modelgate/modelgate"
)

// fakeNotifier is a function-field fake: NotifyFn answers each call.
type fakeNotifier struct {
	NotifyFn func(ctx context.Context, n modelgate.Notification) (bool, error)
	mu       sync.Mutex
	calls    int
}

func (f *fakeNotifier) Notify(ctx context.Context, n modelgate.Notification) (bool, error) {
	f.mu.Lock()
	f.calls++
	f.mu.Unlock()
	return f.NotifyFn(ctx, n)
}

// failing fails its first k calls with err (recoverable as said), then succeeds.
func failing(k int, recoverable bool, err error) *fakeNotifier {
	f := &fakeNotifier{}
	f.NotifyFn = func(context.Context, modelgate.Notification) (bool, error) {
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.calls <= k {
			return recoverable, err
		}
		return false, nil
	}
	return f
}

// sleeps records the waits instead of waiting.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) Sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.d = append(s.d, d)
	return ctx.Err()
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func notification() modelgate.Notification {
	return modelgate.Notification{
		Kind:       modelgate.NotifyRolledBack,
		Promotion:  &modelgate.Promotion{ID: "p1", Model: "demand-forecast", Version: "3", Previous: "2", Reasons: []string{"latency p95 +80ms"}},
		Summary:    "The canary was judged worse.",
		Details:    []string{"error rate 0.1% vs 0.1%"},
		ReportPath: "reports/p1.md",
		ReportHTML: "reports/p1.html",
	}
}

func TestNotifiers_Notify_AllSucceed(t *testing.T) {
	var got []modelgate.Notification
	var mu sync.Mutex
	record := &fakeNotifier{NotifyFn: func(_ context.Context, n modelgate.Notification) (bool, error) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, n)
		return false, nil
	}}
	ns := modelgate.Notifiers{record, nil, record}
	rec, err := ns.Notify(context.Background(), notification())
	if rec || err != nil {
		t.Fatalf("Notify = %v, %v", rec, err)
	}
	if len(got) != 2 || got[0].Promotion.ID != "p1" {
		t.Errorf("got %d notifications: %+v", len(got), got)
	}
	if rec, err := (modelgate.Notifiers{}).Notify(context.Background(), notification()); rec || err != nil {
		t.Errorf("empty Notifiers: %v, %v", rec, err)
	}
}

func TestNotifiers_NotifyRetry_RecoverableThenOK(t *testing.T) {
	flaky := failing(2, true, errors.New("503"))
	var s sleeps
	rec, err := modelgate.Notifiers{flaky}.NotifyRetry(context.Background(), notification(),
		modelgate.Retry{Attempts: 3, Backoff: 100 * time.Millisecond, Sleep: s.Sleep, Logger: quiet()})
	if rec || err != nil {
		t.Fatalf("NotifyRetry = %v, %v", rec, err)
	}
	if flaky.calls != 3 {
		t.Errorf("calls = %d, want 3", flaky.calls)
	}
	if diff := cmp.Diff([]time.Duration{100 * time.Millisecond, 200 * time.Millisecond}, s.d); diff != "" {
		t.Errorf("backoff (-want +got):\n%s", diff)
	}
}

func TestNotifiers_NotifyRetry_BoundedBackoff(t *testing.T) {
	down := failing(100, true, errors.New("connection refused"))
	var s sleeps
	rec, err := modelgate.Notifiers{down}.NotifyRetry(context.Background(), notification(),
		modelgate.Retry{Attempts: 5, Backoff: time.Second, MaxBackoff: 3 * time.Second, Sleep: s.Sleep, Logger: quiet()})
	if !rec || err == nil {
		t.Fatalf("NotifyRetry = %v, %v; want a recoverable failure", rec, err)
	}
	if down.calls != 5 {
		t.Errorf("calls = %d, want 5", down.calls)
	}
	want := []time.Duration{time.Second, 2 * time.Second, 3 * time.Second, 3 * time.Second}
	if diff := cmp.Diff(want, s.d); diff != "" {
		t.Errorf("backoff (-want +got):\n%s", diff)
	}
}

func TestNotifiers_NotifyRetry_DefaultAttempts(t *testing.T) {
	down := failing(100, true, errors.New("timeout"))
	var s sleeps
	_, _ = modelgate.Notifiers{down}.NotifyRetry(context.Background(), notification(), modelgate.Retry{Sleep: s.Sleep, Logger: quiet()})
	if down.calls != 3 || !cmp.Equal(s.d, []time.Duration{time.Second, 2 * time.Second}) {
		t.Errorf("calls = %d, sleeps %v; want 3 calls after 1s and 2s", down.calls, s.d)
	}
}

func TestNotifiers_NotifyRetry_PermanentNotRetried(t *testing.T) {
	bad := failing(100, false, errors.New("550 no such user"))
	var s sleeps
	rec, err := modelgate.Notifiers{bad}.NotifyRetry(context.Background(), notification(), modelgate.Retry{Sleep: s.Sleep, Logger: quiet()})
	if rec || err == nil {
		t.Fatalf("NotifyRetry = %v, %v; want a permanent failure", rec, err)
	}
	if bad.calls != 1 || len(s.d) != 0 {
		t.Errorf("calls = %d, sleeps %v; want one call, no retry", bad.calls, s.d)
	}
}

type named struct{ *fakeNotifier }

func (named) String() string { return "smtp mail.example.com:587" }

func TestNotifiers_NotifyRetry_JoinsErrors(t *testing.T) {
	errMail, errHook := errors.New("535 auth failed"), errors.New("503 unavailable")
	ok := failing(0, false, nil)
	mail := named{failing(100, false, errMail)}
	hook := failing(100, true, errHook)
	var s sleeps
	rec, err := modelgate.Notifiers{mail, ok, hook}.NotifyRetry(context.Background(), notification(), modelgate.Retry{Sleep: s.Sleep, Logger: quiet()})
	if rec {
		t.Error("recoverable = true with a permanent failure among the errors")
	}
	if !errors.Is(err, errMail) || !errors.Is(err, errHook) {
		t.Fatalf("err = %v, want both failures joined", err)
	}
	if ok.calls != 1 || mail.calls != 1 || hook.calls != 3 {
		t.Errorf("calls: ok %d, mail %d, hook %d; want 1, 1, 3", ok.calls, mail.calls, hook.calls)
	}
	lines := strings.Split(err.Error(), "\n")
	want := []string{
		"notifier 0 (smtp mail.example.com:587): 535 auth failed",
		"notifier 2 (*modelgate_test.fakeNotifier): 503 unavailable",
	}
	if diff := cmp.Diff(want, lines); diff != "" {
		t.Errorf("error lines (-want +got):\n%s", diff)
	}
}

func TestNotifiers_NotifyRetry_ContextStopsRetries(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	down := failing(100, true, errors.New("timeout"))
	r := modelgate.Retry{Attempts: 10, Backoff: time.Hour, Logger: quiet()}
	time.AfterFunc(50*time.Millisecond, cancel)
	start := time.Now()
	rec, err := modelgate.Notifiers{down}.NotifyRetry(ctx, notification(), r)
	if time.Since(start) > 5*time.Second {
		t.Fatalf("NotifyRetry waited %s after ctx was canceled", time.Since(start))
	}
	if rec || !errors.Is(err, context.Canceled) {
		t.Errorf("NotifyRetry = %v, %v; want a non-recoverable failure wrapping context.Canceled", rec, err)
	}
	if down.calls != 1 {
		t.Errorf("calls = %d, want 1", down.calls)
	}
}

func TestNotifiers_NotifyRetry_Concurrent(t *testing.T) {
	// Each notifier waits for the other: only a concurrent fan-out finishes.
	a, b := make(chan struct{}), make(chan struct{})
	meet := func(mine, theirs chan struct{}) *fakeNotifier {
		return &fakeNotifier{NotifyFn: func(ctx context.Context, _ modelgate.Notification) (bool, error) {
			close(mine)
			select {
			case <-theirs:
				return false, nil
			case <-ctx.Done():
				return false, ctx.Err()
			}
		}}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := (modelgate.Notifiers{meet(a, b), meet(b, a)}).Notify(ctx, notification()); err != nil {
		t.Fatalf("Notify: %v", err)
	}
}

func TestNotifiers_Notify_InvalidNotification(t *testing.T) {
	never := &fakeNotifier{NotifyFn: func(context.Context, modelgate.Notification) (bool, error) {
		t.Error("an invalid notification was sent")
		return false, nil
	}}
	for _, n := range []modelgate.Notification{{Kind: "exploded", Promotion: &modelgate.Promotion{}}, {Kind: modelgate.NotifyHeld}} {
		rec, err := modelgate.Notifiers{never}.Notify(context.Background(), n)
		if rec || modelgate.ErrorCode(err) != modelgate.EINVALID {
			t.Errorf("Notify(%+v) = %v, %v; want EINVALID", n, rec, err)
		}
	}
}

func TestNotification_Text(t *testing.T) {
	n := notification()
	n.Promotion.Actor, n.Promotion.Error = "ci", ""
	n.Links = modelgate.Links{Ticket: "https://jira.example.com/browse/OPS-7", Pipeline: "https://ci.example.com/runs/812"}
	want := `demand-forecast v3 rolled back.

The canary was judged worse.

Promotion p1 of demand-forecast version 3 (previous production version 2).
Actor: ci

Reasons:
- latency p95 +80ms

Details:
- error rate 0.1% vs 0.1%

Links:
- Pipeline run: https://ci.example.com/runs/812
- Approval ticket: https://jira.example.com/browse/OPS-7

Report: reports/p1.md
Report with charts (HTML): reports/p1.html
`
	if diff := cmp.Diff(want, n.Text()); diff != "" {
		t.Errorf("Text (-want +got):\n%s", diff)
	}
}
