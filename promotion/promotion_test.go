package promotion_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/audit"
	"github.com/modelgate/modelgate/promotion"
	"github.com/modelgate/modelgate/report"
)

func run(t *testing.T, svc *promotion.Service, version string) *modelgate.Promotion {
	t.Helper()
	ctx := context.Background()
	p, err := svc.Start(ctx, model, version)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	p, err = svc.Run(ctx, p)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return p
}

func TestPromote_Promoted(t *testing.T) {
	w := newWorld(t)
	p := run(t, w.service("a"), "2")
	if p.Outcome != modelgate.OutcomePromoted {
		t.Fatalf("outcome %s, reasons %v", p.Outcome, p.Reasons)
	}
	got := w.state(t, "2")
	want := state{Outcome: modelgate.OutcomePromoted, Split: modelgate.TrafficSplit{Stable: "2"},
		Stages: map[string]modelgate.Stage{"1": modelgate.StageArchived, "2": modelgate.StageProduction, "3": modelgate.StageStaging},
		Tags:   map[string]string{"outcome": "promoted"}, Aliases: map[string][]string{}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("state (-want +got):\n%s", diff)
	}
	wantSteps(t, w, p.ID, "preconditions verify staging smoke canary window decision rollout bake baseline")
	if n, err := audit.Verify(w.audit.Path); err != nil || n == 0 {
		t.Fatalf("audit trail: %d entries, %v", n, err)
	}
}

func TestPromote_RolledBack(t *testing.T) {
	w := newWorld(t)
	p := run(t, w.service("a"), "3")
	if p.Outcome != modelgate.OutcomeRolledBack {
		t.Fatalf("outcome %s, reasons %v", p.Outcome, p.Reasons)
	}
	if !strings.Contains(strings.Join(p.Reasons, " "), "prediction_mean") {
		t.Fatalf("reasons do not name the failed check: %v", p.Reasons)
	}
	got := w.state(t, "3")
	want := state{Outcome: modelgate.OutcomeRolledBack, Split: modelgate.TrafficSplit{Stable: "1"},
		Stages: map[string]modelgate.Stage{"1": modelgate.StageProduction, "2": modelgate.StageStaging, "3": modelgate.StageArchived},
		Tags:   map[string]string{"outcome": "rolled_back"}, Aliases: map[string][]string{}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("state (-want +got):\n%s", diff)
	}
	wantSteps(t, w, p.ID, "preconditions verify staging smoke canary window decision rollback incident")
}

func TestPromote_FailedGateTouchesNoProductionTraffic(t *testing.T) {
	w := newWorld(t)
	w.gate = gate{pass: false}
	p := run(t, w.service("a"), "2")
	if p.Outcome != modelgate.OutcomeFailed || !strings.Contains(p.Reasons[0], "mae 9") {
		t.Fatalf("outcome %s, reasons %v", p.Outcome, p.Reasons)
	}
	if w.dep.calls["StartCanary"] != 0 || w.dep.split != (modelgate.TrafficSplit{Stable: "1"}) {
		t.Fatalf("production traffic moved: %+v %v", w.dep.split, w.dep.calls)
	}
}

func wantSteps(t *testing.T, w *world, id, want string) {
	t.Helper()
	steps, err := w.store.Steps(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range steps {
		got = append(got, string(s.Step))
	}
	if strings.Join(got, " ") != want {
		t.Fatalf("steps %q, want %q", strings.Join(got, " "), want)
	}
}

// Each violated precondition is rejected with a clear error and changes
// nothing: no promotion, no registry change, no platform call.
func TestPromote_Preconditions(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name    string
		version string
		setup   func(t *testing.T, w *world)
		code    string
		message string
	}{
		{"UnknownVersion", "9", nil, modelgate.ENOTFOUND, "Model Version (name=demand-forecast, version=9) not found"},
		{"NotInStaging", "2", func(t *testing.T, w *world) { transition(t, w, "2", modelgate.StageNone) }, modelgate.EPRECONDITION, "is in stage None, not Staging"},
		{"MissingTag", "2", func(t *testing.T, w *world) { mustDo(t, w.reg.DeleteVersionTag(ctx, model, "2", "approver")) }, modelgate.EPRECONDITION, "lacks the required tags approver"},
		{"PlaceholderTag", "2", func(t *testing.T, w *world) { mustDo(t, w.reg.SetVersionTag(ctx, model, "2", "git_sha", "TODO")) }, modelgate.EPRECONDITION,
			`version 2's required tag git_sha holds the placeholder "TODO", not a value`},
		{"MissingDigest", "2", func(t *testing.T, w *world) { mustDo(t, w.reg.DeleteVersionTag(ctx, model, "2", "model_sha256")) }, modelgate.EPRECONDITION, "has no model_sha256 tag"},
		{"NoPreviousProduction", "2", func(t *testing.T, w *world) { transition(t, w, "1", modelgate.StageArchived) }, modelgate.EPRECONDITION, "nothing to roll back to"},
		{"MissingApproval", "2", func(t *testing.T, w *world) { w.store = withoutApprovals{w.store} }, modelgate.EPRECONDITION, "approval by the compliance_officer is missing"},
		{"PlatformDown", "2", func(t *testing.T, w *world) { w.dep.down = true }, modelgate.EPRECONDITION, "the platform is not ready: gateway unreachable"},
		{"ProductionServesAnotherVersion", "2", func(t *testing.T, w *world) { w.dep.split.Stable = "3" }, modelgate.EPRECONDITION, "production serves version \"3\""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			if tt.setup != nil {
				tt.setup(t, w)
			}
			before := w.state(t, tt.version)
			w.reg.calls = map[string]int{}
			_, err := w.service("a").Start(ctx, model, tt.version)
			if code := modelgate.ErrorCode(err); code != tt.code || !strings.Contains(modelgate.ErrorMessage(err), tt.message) {
				t.Fatalf("error %q (%s), want code %s containing %q", modelgate.ErrorMessage(err), code, tt.code, tt.message)
			}
			if diff := cmp.Diff(before, w.state(t, tt.version)); diff != "" {
				t.Fatalf("state changed (-before +after):\n%s", diff)
			}
			if len(w.dep.calls) != 0 || len(w.reg.calls) != 0 {
				t.Fatalf("external actions taken: platform %v, registry %v", w.dep.calls, w.reg.calls)
			}
			if ps, _ := w.store.ListPromotions(ctx, model); len(ps) != 0 {
				t.Fatalf("a promotion was stored: %+v", ps[0])
			}
		})
	}
}

func transition(t *testing.T, w *world, v string, st modelgate.Stage) {
	t.Helper()
	if _, err := w.reg.Registry.TransitionStage(context.Background(), model, v, st, false); err != nil {
		t.Fatal(err)
	}
}

func mustDo(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

type withoutApprovals struct{ modelgate.PromotionStore }

func (s withoutApprovals) Approvals(ctx context.Context, m, v string) ([]*modelgate.Approval, error) {
	all, err := s.PromotionStore.Approvals(ctx, m, v)
	var out []*modelgate.Approval
	for _, a := range all {
		if a.Role != "compliance_officer" {
			out = append(out, a)
		}
	}
	return out, err
}

func TestPromote_SecondPromotionOfAnotherVersionConflicts(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	svc := w.service("a")
	p, err := svc.Start(ctx, model, "2")
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Step(ctx, p); err != nil {
		t.Fatal(err)
	}
	_, err = w.service("b").Start(ctx, model, "3")
	if modelgate.ErrorCode(err) != modelgate.ECONFLICT {
		t.Fatalf("second promotion: %v, want conflict", err)
	}
}

func TestRollback_Manual(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	run(t, w.service("a"), "2")
	svc := w.service("b")
	// A finished promotion is reverted only when named.
	if _, _, err := svc.Rollback(ctx, model, "", "forecasts too high"); modelgate.ErrorCode(err) != modelgate.EPRECONDITION ||
		!strings.Contains(modelgate.ErrorMessage(err), "--version 2") {
		t.Fatalf("revert without a version: %v", err)
	}
	p, mine, err := svc.Rollback(ctx, model, "2", "forecasts too high")
	if err != nil || !mine {
		t.Fatalf("revert: mine %v, %v", mine, err)
	}
	if _, err := svc.Run(ctx, p); err != nil {
		t.Fatal(err)
	}
	got := w.state(t, "2")
	if got.Split != (modelgate.TrafficSplit{Stable: "1"}) || got.Stages["1"] != modelgate.StageProduction || got.Stages["2"] != modelgate.StageArchived {
		t.Fatalf("after manual rollback: %+v", got)
	}
	if got.Outcome != modelgate.OutcomeReverted || got.Tags["outcome"] != "reverted" {
		t.Fatalf("a revert is recorded as %q (tag %q), want reverted", got.Outcome, got.Tags["outcome"])
	}
	steps, err := w.store.Steps(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	entry := report.Entry(p, steps)
	for _, want := range []string{"was reverted after promotion", "Version 2: git_sha `abc123`", "Version 1: git_sha", "Reverted after promotion by test: forecasts too high"} {
		if !strings.Contains(entry, want) {
			t.Errorf("changelog entry lacks %q:\n%s", want, entry)
		}
	}
	if _, _, err := w.service("c").Rollback(ctx, model, "1", "again"); modelgate.ErrorCode(err) != modelgate.ENOTFOUND {
		t.Fatalf("second rollback: %v, want not found", err)
	}
}

// In alias mode the stages stay as they are; @champion moves to the new
// version, the replaced one keeps @previous, and @challenger is cleared.
func TestPromote_AliasMode(t *testing.T) {
	ctx := context.Background()
	w := newModeWorld(t, promotion.DefaultAliasMode())
	p := run(t, w.service("a"), "2")
	if p.Outcome != modelgate.OutcomePromoted {
		t.Fatalf("outcome %s, reasons %v", p.Outcome, p.Reasons)
	}
	want := map[string][]string{"1": {"previous"}, "2": {"champion"}, "3": {"challenger3"}}
	if diff := cmp.Diff(want, w.state(t, "2").Aliases); diff != "" {
		t.Fatalf("aliases after promotion (-want +got):\n%s", diff)
	}
	mustDo(t, w.reg.SetAlias(ctx, model, "challenger", "3"))
	p = run(t, w.service("b"), "3")
	if p.Outcome != modelgate.OutcomeRolledBack {
		t.Fatalf("outcome %s, reasons %v", p.Outcome, p.Reasons)
	}
	want = map[string][]string{"1": {"previous"}, "2": {"champion"}, "3": {"challenger3"}}
	if diff := cmp.Diff(want, w.state(t, "3").Aliases); diff != "" {
		t.Fatalf("aliases after rollback (-want +got):\n%s", diff)
	}
}

func TestPromote_AliasModeCandidateWithoutAlias(t *testing.T) {
	w := newModeWorld(t, promotion.DefaultAliasMode())
	_, err := w.service("a").Start(context.Background(), model, "3")
	if modelgate.ErrorCode(err) != modelgate.EPRECONDITION || !strings.Contains(modelgate.ErrorMessage(err), "does not carry the alias @challenger") {
		t.Fatalf("err = %v", err)
	}
}

// A held promotion, resumed by a person, watches the canary again for one
// more extension instead of holding at once.
func TestPromote_ResumeOfHoldWatchesAgain(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	svc := w.service("a")
	finals := 0
	svc.Judge = holdJudge{&finals}
	p := run(t, svc, "2")
	if p.Outcome != modelgate.OutcomeHeld {
		t.Fatalf("outcome %s, want held", p.Outcome)
	}
	svc = w.service("b")
	svc.Judge = holdJudge{&finals}
	w.clock.Advance(10 * time.Minute)
	p, err := svc.Resume(ctx, model)
	if err != nil {
		t.Fatal(err)
	}
	before := w.clock.Now()
	if p, err = svc.Run(ctx, p); err != nil || p.Outcome != modelgate.OutcomePromoted {
		t.Fatalf("after resume: %v %+v", err, p)
	}
	if watched := w.clock.Now().Sub(before); watched < svc.Policy.Extension {
		t.Fatalf("resumed hold watched %s, want at least the extension %s", watched, svc.Policy.Extension)
	}
}

// holdJudge holds at its first two final looks (the window's end and the
// extension's), then promotes: too little data first, enough after a resume.
type holdJudge struct{ finals *int }

func (j holdJudge) Judge(w *modelgate.Window, p modelgate.Progress) modelgate.Judgement {
	if !p.Final {
		return modelgate.Judgement{Decision: modelgate.DecisionContinue, Reasons: []string{"watching"}}
	}
	if *j.finals++; *j.finals >= 3 {
		return modelgate.Judgement{Decision: modelgate.DecisionPromote, Reasons: []string{"enough"}}
	}
	return modelgate.Judgement{Decision: modelgate.DecisionHold, Reasons: []string{"not enough data"}}
}
