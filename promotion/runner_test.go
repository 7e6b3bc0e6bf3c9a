package promotion_test

import (
	"context"
	"testing"
	"time"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/promotion"
)

// newRunner runs w's promotions as jobs whose waits take a little real
// time, so followers and people act while they run.
func newRunner(t *testing.T, w *world, owner string, gone func(string) bool) *promotion.Runner {
	t.Helper()
	r := &promotion.Runner{Actor: modelgate.Actor{Name: "server", Source: "test"}, Poll: 5 * time.Millisecond, Scan: -1,
		NewService: func(a modelgate.Actor, progress func(modelgate.Event)) *promotion.Service {
			s := w.service(owner)
			s.Actor, s.ActorSource, s.Progress, s.HolderGone = a.Name, a.Source, progress, gone
			s.Policy.LockTTL = time.Hour // the store's clock is the fake one the waits advance
			s.Sleep = func(ctx context.Context, d time.Duration) error {
				w.clock.Advance(d)
				time.Sleep(time.Millisecond)
				return ctx.Err()
			}
			return s
		}}
	if err := r.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })
	return r
}

func TestRunner_StartRunsAJobItsFollowersSee(t *testing.T) {
	w := newWorld(t)
	r := newRunner(t, w, "server", nil)
	ctx := modelgate.NewContextWithActor(context.Background(), modelgate.Actor{Name: "ops", Source: "token:ops"})
	p, err := r.StartPromotion(ctx, model, "2")
	if err != nil {
		t.Fatal(err)
	}
	if again, err := r.StartPromotion(ctx, model, "2"); err != nil || again.ID != p.ID {
		t.Fatalf("starting the running version again: %v, %v", again, err)
	}
	if _, err := r.StartPromotion(ctx, model, "3"); modelgate.ErrorCode(err) != modelgate.ECONFLICT {
		t.Fatalf("another version while one runs: %v, want conflict", err)
	}
	var seqs []int64
	end, err := r.FollowPromotion(ctx, p.ID, 0, func(e modelgate.Event) { seqs = append(seqs, e.Seq) })
	if err != nil || end.Outcome != modelgate.OutcomePromoted {
		t.Fatalf("followed to %+v, %v", end, err)
	}
	for i := 1; i < len(seqs); i++ {
		if seqs[i] <= seqs[i-1] {
			t.Fatalf("events out of order: %v", seqs)
		}
	}
	if len(seqs) == 0 || !auditHas(t, w, `"actor":"ops"`, `"actor_source":"token:ops"`, `"action":"step.preconditions"`) {
		t.Fatalf("events %v; the audit trail must name the caller", seqs)
	}
	// Followed after its end: the end at once.
	if q, err := r.FollowPromotion(ctx, p.ID, 0, func(modelgate.Event) {}); err != nil || q.Outcome != modelgate.OutcomePromoted {
		t.Fatalf("follow after the end: %+v, %v", q, err)
	}
}

// Open resumes an unfinished promotion whose process is gone; a held one
// stays held.
func TestRunner_OpenResumesWhatNoProcessRuns(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	crashed := w.service("crashed")
	p, err := crashed.Start(ctx, model, "2")
	if err != nil {
		t.Fatal(err)
	}
	r := newRunner(t, w, "server", func(owner string) bool { return owner == "crashed" })
	end, err := r.FollowPromotion(ctx, p.ID, 0, func(modelgate.Event) {})
	if err != nil || end.Outcome != modelgate.OutcomePromoted {
		t.Fatalf("resumed to %+v, %v", end, err)
	}
	if !auditHas(t, w, `"action":"promotion.resumed"`, `"actor":"server"`) || !auditHas(t, w, `"action":"lock.taken_over"`) {
		t.Fatal("the resume and the lock taken over are not audited")
	}
	if n := w.dep.calls["StartCanary"]; n != 1 {
		t.Fatalf("StartCanary called %d times", n)
	}
}

func TestRunner_HeldStaysHeldUntilAcceptedOrAborted(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	svc := w.service("cli")
	svc.Judge, svc.Policy.Extension = judgeFunc(holdAtEnd), 0
	if p := run(t, svc, "2"); p.Outcome != modelgate.OutcomeHeld {
		t.Fatalf("outcome %s, want held", p.Outcome)
	}
	r := newRunner(t, w, "server", nil)
	time.Sleep(20 * time.Millisecond)
	if st := w.state(t, "2"); st.Outcome != modelgate.OutcomeHeld {
		t.Fatalf("a held promotion was resumed by the runner: %s", st.Outcome)
	}
	if _, err := r.AcceptPromotion(ctx, model, ""); modelgate.ErrorCode(err) != modelgate.EINVALID {
		t.Fatalf("accept without a reason: %v", err)
	}
	p, err := r.AbortPromotion(ctx, model, "no time to look")
	if err != nil {
		t.Fatal(err)
	}
	if end, err := r.FollowPromotion(ctx, p.ID, 0, func(modelgate.Event) {}); err != nil || end.Outcome != modelgate.OutcomeFailed {
		t.Fatalf("after abort: %+v, %v", end, err)
	}
	if w.dep.split != (modelgate.TrafficSplit{Stable: "1"}) {
		t.Fatalf("production %+v", w.dep.split)
	}
}

func TestRecordApproval_FourEyes(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	svc := w.service("a")
	svc.Policy.FourEyes = true
	ap := func(by, role string) error {
		svc.Actor = by // the server's service acts as the token's name
		return svc.RecordApproval(ctx, &modelgate.Approval{Model: model, Version: "3", Role: role, By: by, At: w.clock.Now()})
	}
	if err := ap("y", "data_science_lead"); err != nil {
		t.Fatal(err)
	}
	if err := ap("y", "compliance_officer"); modelgate.ErrorCode(err) != modelgate.EPRECONDITION {
		t.Fatalf("y approved v3 as two roles: %v", err)
	}
	if !auditHas(t, w, `"action":"approval"`, `"outcome":"refused"`, `"actor":"y"`) {
		t.Fatal("the refusal is not audited")
	}
	svc.Actor = "y" // y approved v3: y may not start it
	if _, err := svc.Start(ctx, model, "3"); modelgate.ErrorCode(err) != modelgate.EPRECONDITION {
		t.Fatalf("an approver started the promotion: %v", err)
	}
	svc.Actor = "z"
	if _, err := svc.Start(ctx, model, "3"); err != nil {
		t.Fatal(err)
	}
	if err := ap("z", "compliance_officer"); modelgate.ErrorCode(err) != modelgate.EUNAUTHORIZED {
		t.Fatalf("the starter approved the promotion: %v", err)
	}
}

// brokenGate fails to run, as an unreachable staging would.
type brokenGate struct{}

func (brokenGate) Name() string { return "broken-gate" }
func (brokenGate) Check(context.Context, modelgate.Endpoint, modelgate.Candidate) (modelgate.GateResult, error) {
	return modelgate.GateResult{}, modelgate.Errorf(modelgate.EUNAVAILABLE, "staging does not answer")
}

// A job that stopped on an error is left to a person: the background scan
// does not retry it; a person's resume does.
func TestRunner_StoppedJobIsNotRetriedByTheScan(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	r := newRunner(t, w, "server", nil)
	build := r.NewService
	r.NewService = func(a modelgate.Actor, progress func(modelgate.Event)) *promotion.Service {
		s := build(a, progress)
		s.Gates = []modelgate.Gate{brokenGate{}}
		return s
	}
	p, err := r.StartPromotion(ctx, model, "2")
	if err != nil {
		t.Fatal(err)
	}
	waitIdle(t, r)
	if err := r.ResumeUnfinished(ctx); err != nil {
		t.Fatal(err)
	}
	waitIdle(t, r)
	if auditHas(t, w, `"action":"promotion.resumed"`) {
		t.Fatal("the scan retried a promotion that stopped on an error")
	}
	r.NewService = build
	if _, err := r.ResumePromotion(ctx, model); err != nil {
		t.Fatal(err)
	}
	if end, err := r.FollowPromotion(ctx, p.ID, 0, func(modelgate.Event) {}); err != nil || end.Outcome != modelgate.OutcomePromoted {
		t.Fatalf("resumed by a person: %+v, %v", end, err)
	}
}

// waitIdle waits until the runner runs no job.
func waitIdle(t *testing.T, r *promotion.Runner) {
	t.Helper()
	for range 5000 {
		if !r.Running(model) {
			return
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatal("the runner's job did not stop")
}

// A leader replica that loses its lease closes its runner: the job stops
// where it is and frees the lock, and the next leader's runner resumes it
// without repeating an action. A standby refuses acts that start jobs.
func TestRunner_CloseHandsOverToTheNextLeader(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	old := newRunner(t, w, "replica-a", nil)
	p, err := old.StartPromotion(ctx, model, "2")
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Millisecond)
	if err := old.Close(); err != nil {
		t.Fatal(err)
	}
	if st := w.state(t, "2"); st.Outcome != modelgate.OutcomeNone {
		t.Skipf("the promotion ended (%s) before the runner closed", st.Outcome)
	}
	if holder, _, err := w.store.LockHolder(ctx, model); err != nil || holder != "" {
		t.Fatalf("lock holder after Close = %q, %v; want it released", holder, err)
	}
	if _, err := old.StartPromotion(ctx, model, "3"); modelgate.ErrorCode(err) != modelgate.EUNAVAILABLE {
		t.Fatalf("start on a closed runner: %v, want EUNAVAILABLE", err)
	}
	notLeader := modelgate.Errorf(modelgate.EUNAVAILABLE, "not the leader")
	old.Standby = func() error { return notLeader }
	if _, err := old.AbortPromotion(ctx, model, "stop"); err != notLeader {
		t.Fatalf("abort on a standby: %v, want its error", err)
	}
	next := newRunner(t, w, "replica-b", nil)
	end, err := next.FollowPromotion(ctx, p.ID, 0, func(modelgate.Event) {})
	if err != nil || end.Outcome != modelgate.OutcomePromoted {
		t.Fatalf("resumed by the next leader to %+v, %v", end, err)
	}
	for _, call := range []string{"StartCanary", "Promote"} {
		if n := w.dep.calls[call]; n > 1 {
			t.Errorf("%s called %d times", call, n)
		}
	}
}
