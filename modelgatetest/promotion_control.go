package modelgatetest

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/modelgate/modelgate"
)

// testLockHolderAndBreak: the holder is readable until the lock expires, and
// breaking it is a compare-and-delete on the holder's name.
func testLockHolderAndBreak(t *testing.T, s modelgate.PromotionStore, clock *Clock) {
	wantHolder(t, s, "fraud", "")
	mustLock(t, s, "fraud", "host-a:1", time.Minute)
	wantHolder(t, s, "fraud", "host-a:1")
	if err := s.BreakLock(t.Context(), "fraud", "host-b:2"); err != nil {
		t.Fatalf("BreakLock naming another holder: %v", err)
	}
	wantHolder(t, s, "fraud", "host-a:1") // not the holder named: untouched
	if err := s.BreakLock(t.Context(), "fraud", "host-a:1"); err != nil {
		t.Fatalf("BreakLock: %v", err)
	}
	wantHolder(t, s, "fraud", "")
	mustLock(t, s, "fraud", "host-b:2", time.Minute)
	clock.Advance(61 * time.Second)
	wantHolder(t, s, "fraud", "") // expired
}

func wantHolder(t *testing.T, s modelgate.PromotionStore, model, want string) {
	t.Helper()
	got, expires, err := s.LockHolder(t.Context(), model)
	if err != nil {
		t.Fatalf("LockHolder(%s): %v", model, err)
	}
	if got != want || (want != "" && expires.IsZero()) {
		t.Fatalf("LockHolder(%s) = %q until %v, want %q", model, got, expires, want)
	}
}

// testAbortRequests: the first request stands, per promotion.
func testAbortRequests(t *testing.T, s modelgate.PromotionStore, _ *Clock) {
	mustCreatePromotion(t, s, newPromotion("p1", "fraud", "7", epoch))
	mustCreatePromotion(t, s, newPromotion("p2", "churn", "2", epoch))
	if r, err := s.AbortRequested(t.Context(), "p1"); err != nil || r != nil {
		t.Fatalf("AbortRequested before any = %+v, %v", r, err)
	}
	first := &modelgate.AbortRequest{PromotionID: "p1", By: "oncall", Source: "env:USER", Reason: "pager", At: epoch.Add(time.Minute)}
	for _, r := range []*modelgate.AbortRequest{first, {PromotionID: "p1", By: "bob", Reason: "again", At: epoch.Add(2 * time.Minute)}} {
		if err := s.RequestAbort(t.Context(), r); err != nil {
			t.Fatalf("RequestAbort(%+v): %v", r, err)
		}
	}
	got, err := s.AbortRequested(t.Context(), "p1")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(first, got); diff != "" {
		t.Errorf("AbortRequested(p1) (-want +got):\n%s", diff)
	}
	if r, err := s.AbortRequested(t.Context(), "p2"); err != nil || r != nil {
		t.Fatalf("AbortRequested(p2) = %+v, %v; want none", r, err)
	}
	err = s.RequestAbort(t.Context(), &modelgate.AbortRequest{PromotionID: "nope", By: "x", At: epoch})
	if modelgate.ErrorCode(err) != modelgate.ENOTFOUND {
		t.Fatalf("RequestAbort of a missing promotion: %v, want ENOTFOUND", err)
	}
}
