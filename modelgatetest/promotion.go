package modelgatetest

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/modelgate/modelgate"
)

// epoch is the suite's start of time; whole seconds, so any backend's time
// precision round-trips it.
var epoch = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// TestPromotionStore runs the promotion store conformance suite. open is
// called once per subtest and must return an empty store whose clock (lock
// expiry, timestamps it sets itself) is now; the suite advances that clock.
func TestPromotionStore(t *testing.T, open func(t *testing.T, now func() time.Time) modelgate.PromotionStore) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s modelgate.PromotionStore, clock *Clock)
	}{
		{"CreateAndGet", testPromotionCreateGet},
		{"OneActivePerModel", testOneActivePerModel},
		{"List", testListPromotions},
		{"Steps", testSteps},
		{"Actions", testActions},
		{"Lock", testLock},
		{"LockExtendAndRelease", testLockExtendAndRelease},
		{"LockHolderAndBreak", testLockHolderAndBreak},
		{"AbortRequests", testAbortRequests},
		{"Approvals", testApprovals},
		{"ApprovalRevocation", testApprovalRevocation},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := NewClock(epoch)
			tt.fn(t, open(t, clock.Now), clock)
		})
	}
}

func newPromotion(id, model, version string, started time.Time) *modelgate.Promotion {
	return &modelgate.Promotion{
		ID: id, Model: model, Version: version, Previous: "1", Step: modelgate.StepVerify,
		Actor: "alice", StartedAt: started, UpdatedAt: started, ConfigHash: "cfg-" + version, AuditAnchor: "7:ab" + version,
	}
}

func mustCreatePromotion(t *testing.T, s modelgate.PromotionStore, p *modelgate.Promotion) {
	t.Helper()
	if err := s.CreatePromotion(t.Context(), p); err != nil {
		t.Fatalf("CreatePromotion(%s): %v", p.ID, err)
	}
}

func mustUpdatePromotion(t *testing.T, s modelgate.PromotionStore, p *modelgate.Promotion) {
	t.Helper()
	if err := s.UpdatePromotion(t.Context(), p); err != nil {
		t.Fatalf("UpdatePromotion(%s): %v", p.ID, err)
	}
}

// finish ends p with outcome at the given time.
func finish(t *testing.T, s modelgate.PromotionStore, p *modelgate.Promotion, outcome modelgate.Outcome, at time.Time) {
	t.Helper()
	p.Outcome, p.Step, p.EndedAt, p.UpdatedAt = outcome, modelgate.StepDone, at, at
	mustUpdatePromotion(t, s, p)
}

func wantPromotion(t *testing.T, what string, want, got *modelgate.Promotion) {
	t.Helper()
	if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("%s (-want +got):\n%s", what, diff)
	}
}

func testPromotionCreateGet(t *testing.T, s modelgate.PromotionStore, _ *Clock) {
	p := newPromotion("p1", "fraud", "7", epoch)
	p.Reasons = []string{"tags present", "digest matches"}
	mustCreatePromotion(t, s, p)
	got, err := s.GetPromotion(t.Context(), "p1")
	if err != nil {
		t.Fatalf("GetPromotion: %v", err)
	}
	wantPromotion(t, "GetPromotion after create", p, got)

	p.Step, p.Outcome, p.Error = modelgate.StepWindow, modelgate.OutcomeHeld, "judge asked for a person"
	p.CanaryStart, p.Extended, p.UpdatedAt = epoch.Add(time.Minute), true, epoch.Add(2*time.Minute)
	p.Reasons = append(p.Reasons, "window extended")
	mustUpdatePromotion(t, s, p)
	got, err = s.ActivePromotion(t.Context(), "fraud")
	if err != nil {
		t.Fatalf("ActivePromotion: %v", err)
	}
	wantPromotion(t, "ActivePromotion after update", p, got)

	_, err = s.GetPromotion(t.Context(), "nope")
	wantCode(t, "GetPromotion(missing)", err, modelgate.ENOTFOUND)
	_, err = s.ActivePromotion(t.Context(), "other-model")
	wantCode(t, "ActivePromotion(model without one)", err, modelgate.ENOTFOUND)
	err = s.UpdatePromotion(t.Context(), newPromotion("nope", "fraud", "7", epoch))
	wantCode(t, "UpdatePromotion(missing)", err, modelgate.ENOTFOUND)
}

func testOneActivePerModel(t *testing.T, s modelgate.PromotionStore, _ *Clock) {
	first := newPromotion("promo-first", "fraud", "17", epoch)
	mustCreatePromotion(t, s, first)
	err := s.CreatePromotion(t.Context(), newPromotion("promo-second", "fraud", "18", epoch.Add(time.Minute)))
	wantCode(t, "second active promotion", err, modelgate.ECONFLICT)
	if msg := modelgate.ErrorMessage(err); !strings.Contains(msg, "promo-first") || !strings.Contains(msg, "17") {
		t.Errorf("conflict message %q should name the active promotion promo-first and its version 17", msg)
	}
	mustCreatePromotion(t, s, newPromotion("other-model", "churn", "3", epoch)) // other models are independent

	first.Outcome = modelgate.OutcomeHeld // held is still active
	mustUpdatePromotion(t, s, first)
	err = s.CreatePromotion(t.Context(), newPromotion("promo-second", "fraud", "18", epoch.Add(time.Minute)))
	wantCode(t, "promotion while another is held", err, modelgate.ECONFLICT)

	finish(t, s, first, modelgate.OutcomeRolledBack, epoch.Add(time.Hour))
	second := newPromotion("promo-second", "fraud", "18", epoch.Add(2*time.Hour))
	mustCreatePromotion(t, s, second)
	got, err := s.ActivePromotion(t.Context(), "fraud")
	if err != nil || got.ID != second.ID {
		t.Errorf("ActivePromotion after the first finished = %v, %v; want promo-second", got, err)
	}
	err = s.CreatePromotion(t.Context(), newPromotion("promo-second", "other", "1", epoch))
	wantCode(t, "CreatePromotion with a duplicate id", err, modelgate.ECONFLICT)
}

func testListPromotions(t *testing.T, s modelgate.PromotionStore, _ *Clock) {
	old := newPromotion("old", "fraud", "5", epoch)
	mustCreatePromotion(t, s, old)
	finish(t, s, old, modelgate.OutcomePromoted, epoch.Add(10*time.Minute))
	mustCreatePromotion(t, s, newPromotion("churn", "churn", "2", epoch.Add(30*time.Minute)))
	mustCreatePromotion(t, s, newPromotion("new", "fraud", "6", epoch.Add(time.Hour)))

	for model, want := range map[string][]string{"fraud": {"new", "old"}, "": {"new", "churn", "old"}, "none": nil} {
		ps, err := s.ListPromotions(t.Context(), model)
		if err != nil {
			t.Fatalf("ListPromotions(%q): %v", model, err)
		}
		var got []string
		for _, p := range ps {
			got = append(got, p.ID)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("ListPromotions(%q), newest first (-want +got):\n%s", model, diff)
		}
	}
}
