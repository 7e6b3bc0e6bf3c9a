package promotion_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/modelgate/modelgate"
)

// judgeFunc is a judge whose answer the test chooses.
type judgeFunc func(*modelgate.Window, modelgate.Progress) modelgate.Judgement

func (f judgeFunc) Judge(w *modelgate.Window, p modelgate.Progress) modelgate.Judgement {
	return f(w, p)
}

// holdAtEnd watches until the window ends, then holds.
func holdAtEnd(_ *modelgate.Window, p modelgate.Progress) modelgate.Judgement {
	check := modelgate.Check{Name: "error_rate", Verdict: modelgate.VerdictContinue, Summary: "The canary failed 1.6% of its requests."}
	d := modelgate.DecisionContinue
	if p.Final {
		d, check.Verdict = modelgate.DecisionHold, modelgate.VerdictInconclusive
	}
	return modelgate.Judgement{Decision: d, Checks: []modelgate.Check{check}, Reasons: []string{check.Summary}}
}

// auditHas reports whether the audit trail has an entry with all of want.
func auditHas(t *testing.T, w *world, want ...string) bool {
	t.Helper()
	b, err := os.ReadFile(w.audit.Path)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		ok := true
		for _, s := range want {
			ok = ok && strings.Contains(line, s)
		}
		if ok {
			return true
		}
	}
	return false
}

func TestAbort_RunningProcessRollsBackWithinAPoll(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	runner := w.service("runner")
	runner.Policy.LockTTL = time.Hour // the store's clock is the fake one the runner's waits advance
	// The runner's waits take real (short) time, so the aborter acts while it runs.
	runner.Sleep = func(ctx context.Context, d time.Duration) error {
		w.clock.Advance(d)
		time.Sleep(time.Millisecond)
		return ctx.Err()
	}
	p, err := runner.Start(ctx, model, "2")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan *modelgate.Promotion)
	go func() { q, _ := runner.Run(ctx, p); done <- q }()
	waitForStep(t, w, p.ID, modelgate.StepWindow)
	oncall := w.service("oncall")
	oncall.Actor = "oncall"
	q, mine, err := oncall.Abort(ctx, model, "pager: EU latency")
	if err != nil || mine {
		t.Fatalf("abort of a running promotion: mine %v, %v", mine, err)
	}
	final := <-done
	if final.Outcome != modelgate.OutcomeFailed || w.dep.split != (modelgate.TrafficSplit{Stable: "1"}) {
		t.Fatalf("after abort: outcome %s, split %+v, reasons %v", final.Outcome, w.dep.split, final.Reasons)
	}
	if !strings.HasPrefix(final.Reasons[0], "Aborted by oncall: pager: EU latency") || q.ID != p.ID {
		t.Fatalf("reasons %v", final.Reasons)
	}
	if !auditHas(t, w, `"actor":"oncall"`, `"action":"promotion.aborted"`, "pager: EU latency") {
		t.Fatal("the audit trail does not record who aborted and why")
	}
}

func waitForStep(t *testing.T, w *world, id string, step modelgate.Step) {
	t.Helper()
	for range 5000 {
		p, err := w.store.GetPromotion(context.Background(), id)
		if err == nil && p.Step == step {
			return
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("promotion %s never reached step %s", id, step)
}

func TestAbort_HeldPromotionIsRolledBackByTheAborter(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	svc := w.service("a")
	svc.Judge = judgeFunc(holdAtEnd)
	svc.Policy.Extension = 0
	if p := run(t, svc, "2"); p.Outcome != modelgate.OutcomeHeld {
		t.Fatalf("outcome %s, want held", p.Outcome)
	}
	p, mine, err := w.service("b").Abort(ctx, model, "no time to look")
	if err != nil || !mine {
		t.Fatalf("abort of a held promotion: mine %v, %v", mine, err)
	}
	if p, err = w.service("b").Run(ctx, p); err != nil || p.Outcome != modelgate.OutcomeFailed {
		t.Fatalf("after abort: %v, %v", p.Outcome, err)
	}
	if w.dep.split != (modelgate.TrafficSplit{Stable: "1"}) || w.state(t, "2").Stages["2"] != modelgate.StageArchived {
		t.Fatalf("production %+v, stages %v", w.dep.split, w.state(t, "2").Stages)
	}
}

// A holder known to be gone (a crashed process on this host) is taken over
// at once, with an audit entry, instead of after its lease expires.
func TestLock_GoneHolderIsTakenOverAtOnce(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	crashed := w.service("crashed")
	p, err := crashed.Start(ctx, model, "2")
	if err != nil {
		t.Fatal(err)
	}
	if err := crashed.Step(ctx, p); err != nil { // ...and then the process dies holding the lock
		t.Fatal(err)
	}
	other := w.service("other")
	if _, err := other.Resume(ctx, model); modelgate.ErrorCode(err) != modelgate.ECONFLICT {
		t.Fatalf("resume while the holder may live: %v, want conflict", err)
	}
	other.HolderGone = func(owner string) bool { return owner == "crashed" }
	if _, err := other.Resume(ctx, model); err != nil {
		t.Fatalf("resume after the holder is gone: %v", err)
	}
	if !auditHas(t, w, `"action":"lock.taken_over"`, "crashed no longer runs") {
		t.Fatal("the takeover is not audited")
	}
}

func TestAccept_HeldPromotionIsPromotedOnAPersonsWord(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	svc := w.service("a")
	svc.Judge = judgeFunc(holdAtEnd)
	svc.Policy.Extension = 0
	run(t, svc, "2")
	acc := w.service("b")
	acc.Judge, acc.Actor, acc.ActorSource = judgeFunc(holdAtEnd), "priya", "env:USER"
	p, err := acc.Accept(ctx, model, "1.6% errors are the known EU outage")
	if err != nil {
		t.Fatal(err)
	}
	if p, err = acc.Run(ctx, p); err != nil || p.Outcome != modelgate.OutcomePromoted {
		t.Fatalf("after accept: %v, %v", p.Outcome, err)
	}
	steps, _ := w.store.Steps(ctx, p.ID)
	dec, _ := modelgate.FindEvidence[modelgate.DecisionEvidence](steps)
	if dec.Accepted == nil || dec.Accepted.By != "priya" || dec.Decision != modelgate.DecisionPromote || len(dec.Checks) == 0 {
		t.Fatalf("decision evidence %+v", dec)
	}
	if !auditHas(t, w, `"actor":"priya"`, `"actor_source":"env:USER"`, `"action":"promotion.accepted"`, "known EU outage") {
		t.Fatal("the audit trail does not record who accepted and why")
	}
	if _, err := w.service("c").Accept(ctx, model, "again"); modelgate.ErrorCode(err) != modelgate.ENOTFOUND {
		t.Fatalf("accept without a held promotion: %v", err)
	}
}

// Someone moves the candidate to Production in the registry during the
// window: the rollout stops, production goes back, one version in Production.
func TestRollout_RegistryChangedOutsideGoesBack(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	svc := w.service("a")
	p, err := svc.Start(ctx, model, "2")
	if err != nil {
		t.Fatal(err)
	}
	for p.Step != modelgate.StepRollout {
		mustDo(t, svc.Step(ctx, p))
	}
	if _, err := w.reg.TransitionStage(ctx, model, "2", modelgate.StageProduction, false); err != nil {
		t.Fatal(err)
	}
	if p, err = svc.Run(ctx, p); err != nil {
		t.Fatal(err)
	}
	got := w.state(t, "2")
	if p.Outcome != modelgate.OutcomeFailed || got.Split != (modelgate.TrafficSplit{Stable: "1"}) ||
		got.Stages["1"] != modelgate.StageProduction || got.Stages["2"] != modelgate.StageArchived {
		t.Fatalf("outcome %s, state %+v", p.Outcome, got)
	}
	if !strings.Contains(p.Reasons[0], "registry changed outside modelgate") {
		t.Fatalf("reasons %v", p.Reasons)
	}
}

func TestResume_RecordsWhoAndAConfigurationChange(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	svc := w.service("a")
	svc.ConfigHash = "aaaaaaaaaaaaaaaa"
	p, err := svc.Start(ctx, model, "2")
	if err != nil {
		t.Fatal(err)
	}
	mustDo(t, w.store.ReleaseLock(ctx, model, "a"))
	other := w.service("b")
	other.ConfigHash = "bbbbbbbbbbbbbbbb"
	q, err := other.Resume(ctx, model)
	if err != nil || q.ID != p.ID || q.ConfigHash != other.ConfigHash {
		t.Fatalf("resume: %+v, %v", q, err)
	}
	if !auditHas(t, w, `"action":"promotion.resumed"`) || !auditHas(t, w, `"action":"promotion.config_changed"`, "from aaaaaaaaaaaa to bbbbbbbbbbbb") {
		t.Fatal("the resume or the configuration change is not audited")
	}
}

var _ modelgate.Judge = judgeFunc(nil)
