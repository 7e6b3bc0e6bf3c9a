package promotion_test

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/judge"
	"github.com/modelgate/modelgate/promotion"
	"github.com/modelgate/modelgate/report"
)

// bakeMetrics measures 10 requests a second on every revision; after the
// rollout (no canary, production on the candidate), production's error
// rate becomes errorRate when set: a regression injected after the
// rollout. It keeps history, so the bake reads each period directly.
type bakeMetrics struct {
	metrics
	mu        sync.Mutex
	errorRate float64
	failing   bool
}

func (m *bakeMetrics) regress(rate float64) { m.mu.Lock(); m.errorRate = rate; m.mu.Unlock() }

func (m *bakeMetrics) ObserveRange(_ context.Context, _ string, start, end time.Time) (*modelgate.Window, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.failing {
		return nil, modelgate.Errorf(modelgate.EUNAVAILABLE, "prometheus is down")
	}
	split, _ := m.dep.Traffic(context.Background(), "")
	n := int64(10 * end.Sub(start).Seconds())
	r := revision(split.Stable, n, 100)
	r.Errors = int64(float64(n) * m.errorRate)
	return &modelgate.Window{Stable: r}, nil
}

// ticketer is an incident system that fails the first failures opens
// (recoverably unless fatal) and counts what it opened.
type ticketer struct {
	mu       sync.Mutex
	failures int
	fatal    bool
	opened   []modelgate.Incident
}

func (tk *ticketer) Open(_ context.Context, in modelgate.Incident) (modelgate.Ticket, bool, error) {
	tk.mu.Lock()
	defer tk.mu.Unlock()
	if tk.fatal {
		return modelgate.Ticket{}, false, modelgate.Errorf(modelgate.EUNAUTHORIZED, "bad credentials")
	}
	if tk.failures > 0 {
		tk.failures--
		return modelgate.Ticket{}, true, &modelgate.Throttled{Err: errors.New("429 too many requests"), After: 30 * time.Second}
	}
	tk.opened = append(tk.opened, in)
	return modelgate.Ticket{System: "fake", ID: "INC-1", URL: "https://tickets.test/INC-1"}, false, nil
}

func (tk *ticketer) Find(_ context.Context, in modelgate.Incident) (modelgate.Ticket, bool, error) {
	tk.mu.Lock()
	defer tk.mu.Unlock()
	for _, o := range tk.opened {
		if o.Title() == in.Title() {
			return modelgate.Ticket{System: "fake", ID: "INC-1", URL: "https://tickets.test/INC-1"}, true, nil
		}
	}
	return modelgate.Ticket{}, false, nil
}

// bakeService is w's service with the default alert rules, a 24-hour
// bake, records, post-mortems and tk.
func (w *world) bakeService(owner string, m *bakeMetrics, tk *ticketer) *promotion.Service {
	svc := w.service(owner)
	svc.Metrics = m
	svc.AlertRules = judge.DefaultBakeRules()
	files := report.Files{ReportsDir: filepath.Join(w.dir, "reports"), PostMortemsDir: filepath.Join(w.dir, "postmortems")}
	svc.Records, svc.PostMortems, svc.ReportPath = files, files, files.ReportsDir
	svc.EffectiveConfig = []byte("bake:\n  duration: 24h\n")
	if tk != nil {
		svc.Ticketer = tk
	}
	return svc
}

func newBakeMetrics(w *world) *bakeMetrics {
	return &bakeMetrics{metrics: metrics{dep: w.dep, fixed3: &w.fixed3}}
}

func TestBake_HealthyVersionBakes24HoursAndLeavesItsBaseline(t *testing.T) {
	w := newWorld(t)
	m := newBakeMetrics(w)
	p := run(t, w.bakeService("a", m, nil), "2")
	if p.Outcome != modelgate.OutcomePromoted {
		t.Fatalf("outcome %s: %v", p.Outcome, p.Reasons)
	}
	wantSteps(t, w, p.ID, "preconditions verify staging smoke canary window decision rollout bake baseline")
	steps, _ := w.store.Steps(context.Background(), p.ID)
	bake, _ := modelgate.FindEvidence[modelgate.BakeEvidence](steps)
	if got := bake.Until.Sub(bake.Started); got != 24*time.Hour || len(bake.Fired) != 0 {
		t.Errorf("bake of %v with alerts %v", got, bake.Fired)
	}
	// Every minute for the first hour, every 5 minutes after.
	if bake.Looks < 60+23*12-2 || bake.Looks > 60+23*12+2 {
		t.Errorf("%d looks in 24 h", bake.Looks)
	}
	base, _ := modelgate.FindEvidence[modelgate.BaselineEvidence](steps)
	if base.Source != "bake" || base.Baseline == nil || base.Baseline.Requests != bake.Total.Requests {
		t.Fatalf("baseline %+v: want production's figures over the bake", base)
	}
	// The next promotion compares with it.
	p3 := run(t, w.bakeService("a", m, nil), "3")
	steps, _ = w.store.Steps(context.Background(), p3.ID)
	win, _ := modelgate.FindEvidence[modelgate.WindowEvidence](steps)
	if win.Baseline == nil || win.Baseline.Requests != base.Baseline.Requests {
		t.Errorf("the next window's baseline %+v, want version 2's", win.Baseline)
	}
	md, err := os.ReadFile(filepath.Join(w.dir, "reports", p3.ID+".md"))
	if err != nil || !strings.Contains(string(md), "Against the baseline of version 2") {
		t.Errorf("the next report does not show the baseline (%v)", err)
	}
}

func TestBake_RegressionAfterRolloutRollsBackWithIncident(t *testing.T) {
	w := newWorld(t)
	m := newBakeMetrics(w)
	tk := &ticketer{failures: 2} // throttled twice, then opened
	svc := w.bakeService("a", m, tk)
	svc.DetachBake = true
	p := run(t, svc, "2")
	if p.Step != modelgate.StepBake || p.Outcome != modelgate.OutcomeNone {
		t.Fatalf("promote with a detached bake: step %s outcome %s", p.Step, p.Outcome)
	}
	m.regress(0.05)
	start := w.clock.Now()
	p = resumeBake(t, w.bakeService("b", m, tk))
	if p.Outcome != modelgate.OutcomeRolledBack {
		t.Fatalf("outcome %s, reasons %v", p.Outcome, p.Reasons)
	}
	if took := w.clock.Now().Sub(start); took < 5*time.Minute || took > 8*time.Minute {
		t.Errorf("rolled back %v after the regression; the rule fires after 5 minutes", took)
	}
	if !strings.Contains(strings.Join(p.Reasons, " "), "an alert fired (ModelErrorRateHigh)") {
		t.Errorf("reasons %v", p.Reasons)
	}
	wantSteps(t, w, p.ID, "preconditions verify staging smoke canary window decision rollout bake rollback incident")
	got := w.state(t, "2")
	if got.Split.Stable != "1" || got.Stages["1"] != modelgate.StageProduction || got.Stages["2"] != modelgate.StageArchived || got.Tags["outcome"] != "rolled_back" {
		t.Errorf("after the rollback: %+v", got)
	}
	steps, _ := w.store.Steps(context.Background(), p.ID)
	in, _ := modelgate.FindEvidence[modelgate.IncidentEvidence](steps)
	if in.Ticket == nil || len(tk.opened) != 1 || in.TicketError != "" {
		t.Fatalf("incident %+v, %d tickets opened", in, len(tk.opened))
	}
	if due := in.Due.Sub(w.clock.Now()); due > 24*time.Hour || due < 23*time.Hour {
		t.Errorf("post-mortem due in %v, want 24 h after the rollback", due)
	}
	if inc := tk.opened[0]; !inc.PostMortemDue.Equal(in.Due) || inc.Bundle != in.Bundle {
		t.Errorf("the ticket's incident %+v does not carry the due date and bundle", inc)
	}
	wantBundle(t, in, "README.md", "evidence.json", "audit.jsonl", "figures.csv", "logs.txt", "config.yaml", "bake_error_rate.svg", "window_latency_p95.svg")
	md, _ := os.ReadFile(filepath.Join(w.dir, "reports", p.ID+".md"))
	for _, want := range []string{"## Incident", "https://tickets.test/INC-1", "Lessons learned", "Alert **ModelErrorRateHigh** fired"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("the report lacks %q", want)
		}
	}
	if n := w.dep.calls["Rollback"]; n != 1 {
		t.Errorf("%d rollbacks of the platform", n)
	}
}

func wantBundle(t *testing.T, in modelgate.IncidentEvidence, names ...string) {
	t.Helper()
	f, err := os.Open(in.Bundle)
	if err != nil {
		t.Fatalf("bundle archive: %v", err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err != nil {
			break
		}
		have[filepath.Base(h.Name)] = true
	}
	for _, n := range names {
		if !have[n] {
			t.Errorf("the archive lacks %s (has %v)", n, have)
		}
		if _, err := os.Stat(filepath.Join(in.BundleDir, n)); err != nil {
			t.Errorf("the bundle directory lacks %s", n)
		}
	}
	readme, _ := os.ReadFile(filepath.Join(in.BundleDir, "README.md"))
	for _, want := range []string{"Post-mortem due", "## Timeline", "bake.alert", "Lessons learned"} {
		if !strings.Contains(string(readme), want) {
			t.Errorf("the bundle's README lacks %q", want)
		}
	}
}

func resumeBake(t *testing.T, svc *promotion.Service) *modelgate.Promotion {
	t.Helper()
	p, err := svc.Resume(context.Background(), model)
	if err != nil {
		t.Fatalf("Resume: %v", err)
	}
	if p, err = svc.Run(context.Background(), p); err != nil {
		t.Fatalf("Run: %v", err)
	}
	return p
}

// A restart during the bake keeps the pending alert's clock: the alert
// fires 5 minutes after its condition began, not 5 minutes after the
// restart, and nothing is done twice.
func TestBake_RestartKeepsThePendingAlert(t *testing.T) {
	w := newWorld(t)
	m := newBakeMetrics(w)
	tk := &ticketer{}
	svc := w.bakeService("a", m, tk)
	svc.DetachBake = true
	run(t, svc, "2")
	m.regress(0.05)
	began := w.clock.Now()
	for range 3 { // three looks a minute apart, each by a process that then stops
		w.clock.Advance(time.Minute)
		resumeBake(t, svc)
	}
	p := resumeBake(t, w.bakeService("b", m, tk))
	if p.Outcome != modelgate.OutcomeRolledBack {
		t.Fatalf("outcome %s", p.Outcome)
	}
	if took := w.clock.Now().Sub(began); took > 7*time.Minute {
		t.Errorf("the alert fired %v after the regression: the restarts reset its clock", took)
	}
	if len(tk.opened) != 1 || w.dep.calls["Rollback"] != 1 {
		t.Errorf("%d tickets, %d rollbacks", len(tk.opened), w.dep.calls["Rollback"])
	}
}

func TestBake_APersonEndsOrExtendsIt(t *testing.T) {
	w := newWorld(t)
	m := newBakeMetrics(w)
	svc := w.bakeService("a", m, nil)
	svc.DetachBake = true
	p := run(t, svc, "2")
	ctx := context.Background()
	until, err := svc.ExtendBake(ctx, model, 12*time.Hour, "holiday traffic")
	if err != nil {
		t.Fatal(err)
	}
	steps, _ := w.store.Steps(ctx, p.ID)
	bake, _ := modelgate.FindEvidence[modelgate.BakeEvidence](steps)
	if want := bake.Started.Add(36 * time.Hour); !until.Equal(want) {
		t.Errorf("extended to %v, want %v", until, want)
	}
	if _, err := svc.ExtendBake(ctx, model, -time.Hour, "x"); modelgate.ErrorCode(err) != modelgate.EINVALID {
		t.Errorf("a negative extension: %v", err)
	}
	p, mine, err := svc.EndBake(ctx, model, "the weekly review is done")
	if err != nil || !mine {
		t.Fatalf("EndBake: mine %v, %v", mine, err)
	}
	if p, err = svc.Run(ctx, p); err != nil || p.Outcome != modelgate.OutcomePromoted {
		t.Fatalf("after the end: %v, %v", p.Outcome, err)
	}
	steps, _ = w.store.Steps(ctx, p.ID)
	bake, _ = modelgate.FindEvidence[modelgate.BakeEvidence](steps)
	if bake.Ended == nil || bake.Ended.Reason != "the weekly review is done" || bake.Ended.By != "test" || len(bake.Extensions) != 1 {
		t.Errorf("bake record: ended %+v, extensions %+v", bake.Ended, bake.Extensions)
	}
	if _, _, err := svc.EndBake(ctx, model, "again"); modelgate.ErrorCode(err) != modelgate.ENOTFOUND {
		t.Errorf("no bake left: %v", err)
	}
}

func TestBake_ANewPromotionEndsThePreviousBake(t *testing.T) {
	w := newWorld(t)
	m := newBakeMetrics(w)
	svc := w.bakeService("a", m, nil)
	svc.DetachBake = true
	p2 := run(t, svc, "2")
	w.fixed3 = true
	svc.DetachBake = false
	svc.Policy.Bake.Duration = time.Hour
	p3 := run(t, svc, "3")
	if p3.Outcome != modelgate.OutcomePromoted {
		t.Fatalf("v3: %s %v", p3.Outcome, p3.Reasons)
	}
	got, _ := w.store.GetPromotion(context.Background(), p2.ID)
	steps, _ := w.store.Steps(context.Background(), p2.ID)
	bake, _ := modelgate.FindEvidence[modelgate.BakeEvidence](steps)
	if got.Outcome != modelgate.OutcomePromoted || bake.Ended == nil || !strings.Contains(bake.Ended.Reason, "version 3 starts") {
		t.Errorf("v2's promotion %s, bake ended %+v", got.Outcome, bake.Ended)
	}
}

func TestIncident_TicketFailureDoesNotStopTheRollback(t *testing.T) {
	w := newWorld(t)
	tk := &ticketer{fatal: true}
	p := run(t, w.bakeService("a", newBakeMetrics(w), tk), "3")
	if p.Outcome != modelgate.OutcomeRolledBack {
		t.Fatalf("outcome %s", p.Outcome)
	}
	steps, _ := w.store.Steps(context.Background(), p.ID)
	in, _ := modelgate.FindEvidence[modelgate.IncidentEvidence](steps)
	if in.Ticket != nil || !strings.Contains(in.TicketError, "bad credentials") || in.Bundle == "" {
		t.Errorf("incident %+v: want the failure recorded and the bundle written", in)
	}
}

// notifier records what it is asked to send.
type notifier struct {
	mu   sync.Mutex
	sent []modelgate.Notification
}

func (n *notifier) Notify(_ context.Context, m modelgate.Notification) (bool, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.sent = append(n.sent, m)
	return false, nil
}

func (n *notifier) kinds(kind string) []modelgate.Notification {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []modelgate.Notification
	for _, m := range n.sent {
		if m.Kind == kind {
			out = append(out, m)
		}
	}
	return out
}

func TestDailySummaries_OncePerDayForAWeekAgainstTheBaseline(t *testing.T) {
	w := newWorld(t)
	m := newBakeMetrics(w)
	n := &notifier{}
	svc := w.bakeService("a", m, nil)
	svc.Notifier = n
	svc.Policy.Bake.Duration = time.Hour
	run(t, svc, "2") // v2 baked an hour: its baseline
	w.fixed3 = true
	p3 := run(t, svc, "3")
	ctx := context.Background()
	if got, err := svc.DailySummaries(ctx, ""); err != nil || len(got) != 0 {
		t.Fatalf("an hour after the rollout: %d summaries, %v", len(got), err)
	}
	w.clock.Advance(3 * 24 * time.Hour)
	got, err := svc.DailySummaries(ctx, "")
	if err != nil || len(got) != 3 {
		t.Fatalf("three days later: %d summaries, %v", len(got), err)
	}
	if again, _ := svc.DailySummaries(ctx, model); len(again) != 0 {
		t.Errorf("sent again: %d", len(again))
	}
	s := got[2]
	if s.PromotionID != p3.ID || s.Day != 3 || s.Days != 7 || s.Baseline == nil || s.Figures.Requests != 10*86400 {
		t.Errorf("day 3: %+v", s)
	}
	sent := n.kinds(modelgate.NotifySummary)
	if len(sent) != 3 || !strings.Contains(sent[0].Summary, "day 1 of 7") || !strings.Contains(sent[0].Summary, "version 2's baseline") {
		t.Fatalf("summaries sent: %+v", sent)
	}
	w.clock.Advance(10 * 24 * time.Hour)
	if got, _ := svc.DailySummaries(ctx, ""); len(got) != 4 {
		t.Errorf("after the week: %d more summaries, want days 4 to 7", len(got))
	}
}
