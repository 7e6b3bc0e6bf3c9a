package modelgatetest

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/modelgate/modelgate"
)

func mustSaveStep(t *testing.T, s modelgate.PromotionStore, r *modelgate.StepRecord) {
	t.Helper()
	if err := s.SaveStep(t.Context(), r); err != nil {
		t.Fatalf("SaveStep(%s): %v", r.Step, err)
	}
}

func testSteps(t *testing.T, s modelgate.PromotionStore, _ *Clock) {
	mustCreatePromotion(t, s, newPromotion("p1", "fraud", "7", epoch))
	mustCreatePromotion(t, s, newPromotion("p2", "churn", "2", epoch))
	verify := &modelgate.StepRecord{PromotionID: "p1", Step: modelgate.StepVerify, StartedAt: epoch,
		Outcome: modelgate.ResultRunning, Inputs: modelgate.StepInputs{Settings: map[string]string{"version": "7"}, ConfigHash: "c0ffee"}}
	staging := &modelgate.StepRecord{PromotionID: "p1", Step: modelgate.StepStaging,
		StartedAt: epoch.Add(time.Minute), Outcome: modelgate.ResultRunning}
	mustSaveStep(t, s, verify)
	mustSaveStep(t, s, staging)
	mustSaveStep(t, s, &modelgate.StepRecord{PromotionID: "p2", Step: modelgate.StepVerify, StartedAt: epoch, Outcome: modelgate.ResultOK})

	// Saving verify again replaces its record and keeps its place.
	verify.Outcome, verify.EndedAt = modelgate.ResultOK, epoch.Add(30*time.Second)
	verify.Evidence = json.RawMessage(`{"digest":"ab12","tags":["git_sha"]}`)
	mustSaveStep(t, s, verify)
	smoke := &modelgate.StepRecord{PromotionID: "p1", Step: modelgate.StepSmoke, StartedAt: epoch.Add(2 * time.Minute), Outcome: modelgate.ResultFailed}
	mustSaveStep(t, s, smoke)

	got, err := s.Steps(t.Context(), "p1")
	if err != nil {
		t.Fatalf("Steps: %v", err)
	}
	want := []*modelgate.StepRecord{verify, staging, smoke}
	if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("Steps(p1) (-want +got):\n%s", diff)
	}
}

func testActions(t *testing.T, s modelgate.PromotionStore, _ *Clock) {
	mustCreatePromotion(t, s, newPromotion("p1", "fraud", "7", epoch))
	mustCreatePromotion(t, s, newPromotion("p2", "churn", "2", epoch))
	wantAction(t, s, "p1", "start-canary", "")
	for _, state := range []string{modelgate.ActionIntent, modelgate.ActionDone} {
		if err := s.SetAction(t.Context(), "p1", "start-canary", state); err != nil {
			t.Fatalf("SetAction(%s): %v", state, err)
		}
		wantAction(t, s, "p1", "start-canary", state)
	}
	wantAction(t, s, "p1", "promote", "")
	wantAction(t, s, "p2", "start-canary", "")
}

func wantAction(t *testing.T, s modelgate.PromotionStore, id, action, want string) {
	t.Helper()
	got, err := s.ActionState(t.Context(), id, action)
	if err != nil || got != want {
		t.Errorf("ActionState(%s, %s) = %q, %v; want %q, nil", id, action, got, err, want)
	}
}

func mustLock(t *testing.T, s modelgate.PromotionStore, model, owner string, ttl time.Duration) {
	t.Helper()
	if err := s.AcquireLock(t.Context(), model, owner, ttl); err != nil {
		t.Fatalf("AcquireLock(%s, %s): %v", model, owner, err)
	}
}

// wantLocked checks that owner cannot take model's lock because holder has it.
func wantLocked(t *testing.T, s modelgate.PromotionStore, model, owner, holder string) {
	t.Helper()
	err := s.AcquireLock(t.Context(), model, owner, time.Minute)
	wantCode(t, "AcquireLock("+model+", "+owner+")", err, modelgate.ECONFLICT)
	if err != nil && !strings.Contains(modelgate.ErrorMessage(err), holder) {
		t.Errorf("lock conflict message %q should name the holder %s", modelgate.ErrorMessage(err), holder)
	}
}

func testLock(t *testing.T, s modelgate.PromotionStore, clock *Clock) {
	mustLock(t, s, "fraud", "host-a", time.Minute)
	mustLock(t, s, "churn", "host-b", time.Minute) // locks are per model
	clock.Advance(30 * time.Second)
	wantLocked(t, s, "fraud", "host-b", "host-a")
	clock.Advance(31 * time.Second) // host-a's lock has expired: taken over
	mustLock(t, s, "fraud", "host-b", time.Minute)
	wantLocked(t, s, "fraud", "host-a", "host-b")
}

func testLockExtendAndRelease(t *testing.T, s modelgate.PromotionStore, clock *Clock) {
	mustLock(t, s, "fraud", "host-a", time.Minute)
	clock.Advance(50 * time.Second)
	mustLock(t, s, "fraud", "host-a", time.Minute) // same owner: extends to 110s
	clock.Advance(40 * time.Second)
	wantLocked(t, s, "fraud", "host-b", "host-a")

	if err := s.ReleaseLock(t.Context(), "fraud", "host-b"); err != nil {
		t.Fatalf("ReleaseLock by a non-owner: %v", err)
	}
	wantLocked(t, s, "fraud", "host-b", "host-a") // a non-owner's release changed nothing
	if err := s.ReleaseLock(t.Context(), "fraud", "host-a"); err != nil {
		t.Fatalf("ReleaseLock by the owner: %v", err)
	}
	mustLock(t, s, "fraud", "host-b", time.Minute)
}

func mustApprove(t *testing.T, s modelgate.PromotionStore, a *modelgate.Approval) {
	t.Helper()
	if err := s.AddApproval(t.Context(), a); err != nil {
		t.Fatalf("AddApproval(%s by %s): %v", a.Role, a.By, err)
	}
}

func testApprovals(t *testing.T, s modelgate.PromotionStore, _ *Clock) {
	lead := &modelgate.Approval{Model: "fraud", Version: "7", Role: "ds-lead", By: "alice", At: epoch}
	compliance := &modelgate.Approval{Model: "fraud", Version: "7", Role: "compliance", By: "bob", At: epoch.Add(time.Hour),
		RecordedBy: "bob.k", Source: "env:USER"}
	mustApprove(t, s, lead)
	mustApprove(t, s, compliance)
	mustApprove(t, s, &modelgate.Approval{Model: "fraud", Version: "8", Role: "ds-lead", By: "dave", At: epoch})
	newLead := &modelgate.Approval{Model: "fraud", Version: "7", Role: "ds-lead", By: "carol", At: epoch.Add(2 * time.Hour)}
	mustApprove(t, s, newLead) // replaces alice's

	got, err := s.Approvals(t.Context(), "fraud", "7")
	if err != nil {
		t.Fatalf("Approvals: %v", err)
	}
	byRole := cmpopts.SortSlices(func(a, b *modelgate.Approval) bool { return a.Role < b.Role })
	if diff := cmp.Diff([]*modelgate.Approval{compliance, newLead}, got, byRole); diff != "" {
		t.Errorf("Approvals(fraud, 7) (-want +got):\n%s", diff)
	}
	if got, err := s.Approvals(t.Context(), "fraud", "9"); err != nil || len(got) != 0 {
		t.Errorf("Approvals of an unapproved version = %v, %v; want none", got, err)
	}
}

func mustApprovals(t *testing.T, s modelgate.PromotionStore, what string, want []*modelgate.Approval) {
	t.Helper()
	got, err := s.Approvals(t.Context(), "fraud", "7")
	if err != nil {
		t.Fatalf("Approvals: %v", err)
	}
	byRole := cmpopts.SortSlices(func(a, b *modelgate.Approval) bool { return a.Role < b.Role })
	if diff := cmp.Diff(want, got, byRole); diff != "" {
		t.Errorf("Approvals(fraud, 7) %s (-want +got):\n%s", what, diff)
	}
}

// testApprovalRevocation: a revoked approval is kept with who revoked it,
// why and when; revoking what is missing or revoked already changes
// nothing; a new approval of the role replaces the revoked one.
func testApprovalRevocation(t *testing.T, s modelgate.PromotionStore, _ *Clock) {
	lead := &modelgate.Approval{Model: "fraud", Version: "7", Role: "ds-lead", By: "alice", At: epoch, RecordedBy: "alice", Source: "env:USER"}
	compliance := &modelgate.Approval{Model: "fraud", Version: "7", Role: "compliance", By: "bob", At: epoch.Add(time.Minute)}
	mustApprove(t, s, lead)
	mustApprove(t, s, compliance)
	rev := &modelgate.Revocation{By: "carol", Source: "env:MODELGATE_ACTOR", Reason: "the dataset was mislabelled", At: epoch.Add(time.Hour)}
	if err := s.RevokeApproval(t.Context(), "fraud", "7", "ds-lead", rev); err != nil {
		t.Fatalf("RevokeApproval: %v", err)
	}
	revoked := *lead
	revoked.Revoked = rev
	mustApprovals(t, s, "after the revocation", []*modelgate.Approval{compliance, &revoked})

	later := &modelgate.Revocation{By: "dave", Reason: "again", At: epoch.Add(2 * time.Hour)}
	wantCode(t, "RevokeApproval of a revoked approval", s.RevokeApproval(t.Context(), "fraud", "7", "ds-lead", later), modelgate.ECONFLICT)
	wantCode(t, "RevokeApproval of a role without approval", s.RevokeApproval(t.Context(), "fraud", "7", "auditor", later), modelgate.ENOTFOUND)
	wantCode(t, "RevokeApproval of another version", s.RevokeApproval(t.Context(), "fraud", "8", "ds-lead", later), modelgate.ENOTFOUND)
	mustApprovals(t, s, "after refused revocations", []*modelgate.Approval{compliance, &revoked})

	again := &modelgate.Approval{Model: "fraud", Version: "7", Role: "ds-lead", By: "erin", At: epoch.Add(3 * time.Hour)}
	mustApprove(t, s, again)
	mustApprovals(t, s, "after a new approval of the revoked role", []*modelgate.Approval{compliance, again})
}
