package promotion_test

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/audit"
	"github.com/modelgate/modelgate/judge"
	"github.com/modelgate/modelgate/modelgatetest"
	"github.com/modelgate/modelgate/promotion"
	"github.com/modelgate/modelgate/sqlite"
)

// deployer is a stateful in-memory platform that counts every mutating call.
type deployer struct {
	mu      sync.Mutex
	split   modelgate.TrafficSplit
	staging string
	calls   map[string]int
	down    bool // CheckTarget and every call fail as unreachable
}

var _ modelgate.Deployer = (*deployer)(nil)

func (d *deployer) count(name string) {
	if d.calls == nil {
		d.calls = map[string]int{}
	}
	d.calls[name]++
}

func (d *deployer) CheckTarget(context.Context, string) error {
	if d.down {
		return modelgate.Errorf(modelgate.EUNAVAILABLE, "gateway unreachable")
	}
	return nil
}

func (d *deployer) DeployStaging(_ context.Context, dep modelgate.Deployment, _ time.Duration) (modelgate.Endpoint, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.count("DeployStaging")
	d.staging = dep.Version
	return modelgate.Endpoint{URL: "http://staging", Name: dep.Model}, nil
}

func (d *deployer) Traffic(context.Context, string) (modelgate.TrafficSplit, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.split, nil
}

func (d *deployer) StartCanary(_ context.Context, dep modelgate.Deployment, pct int) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.count("StartCanary")
	d.split.Canary, d.split.CanaryPercent = dep.Version, pct
	return nil
}

func (d *deployer) Promote(_ context.Context, _, version string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.count("Promote")
	d.split = modelgate.TrafficSplit{Stable: version}
	return nil
}

func (d *deployer) Rollback(_ context.Context, prev modelgate.Deployment) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.count("Rollback")
	d.split = modelgate.TrafficSplit{Stable: prev.Version}
	return nil
}

func (d *deployer) Production(context.Context, string) (modelgate.Endpoint, error) {
	return modelgate.Endpoint{URL: "http://prod", Name: "m"}, nil
}

// metrics reports healthy figures for every canary but version "3", whose
// predictions are shifted by 50% (unless fixed3 is set).
type metrics struct {
	dep    *deployer
	fixed3 *bool
}

func (m metrics) Observe(context.Context, string) (*modelgate.Window, error) {
	split, _ := m.dep.Traffic(context.Background(), "")
	canaryMean := 100.0
	if split.Canary == "3" && (m.fixed3 == nil || !*m.fixed3) {
		canaryMean = 150
	}
	return &modelgate.Window{Stable: revision(split.Stable, 9000, 100), Canary: revision(split.Canary, 1000, canaryMean)}, nil
}

func revision(v string, n int64, mean float64) modelgate.RevisionStats {
	f := float64(n)
	return modelgate.RevisionStats{Version: v, Requests: n, Errors: n / 100,
		LatencyMS:   modelgate.Distribution{Count: n, P50: 5, P95: 20, P99: 40},
		Predictions: modelgate.Distribution{Count: n, Sum: mean * f, SumSq: f * (mean*mean + 100), P50: mean}}
}

// gate passes or fails as told.
type gate struct{ pass bool }

func (g gate) Name() string { return "fake-gate" }
func (g gate) Check(context.Context, modelgate.Endpoint, modelgate.Candidate) (modelgate.GateResult, error) {
	if g.pass {
		return modelgate.GateResult{Passed: true, Summary: "ok"}, nil
	}
	return modelgate.GateResult{Passed: false, Summary: "bad", Failures: []string{"mae 9 is worse than the logged 5"}}, nil
}

// registry counts the registry's mutating calls.
type registry struct {
	*sqlite.Registry
	mu    sync.Mutex
	calls map[string]int
}

func (r *registry) count(call string) {
	r.mu.Lock()
	r.calls[call]++
	r.mu.Unlock()
}

func (r *registry) SetAlias(ctx context.Context, name, alias, version string) error {
	r.count("SetAlias " + alias + " " + version)
	return r.Registry.SetAlias(ctx, name, alias, version)
}

func (r *registry) DeleteAlias(ctx context.Context, name, alias string) error {
	r.count("DeleteAlias " + alias)
	return r.Registry.DeleteAlias(ctx, name, alias)
}

func (r *registry) SetVersionTag(ctx context.Context, name, version, key, value string) error {
	if strings.HasPrefix(key, "modelgate.") {
		r.count("SetVersionTag " + version + " " + key)
	}
	return r.Registry.SetVersionTag(ctx, name, version, key, value)
}

func (r *registry) TransitionStage(ctx context.Context, name, version string, st modelgate.Stage, archive bool) (*modelgate.ModelVersion, error) {
	r.mu.Lock()
	r.calls["TransitionStage "+version+" "+string(st)]++
	r.mu.Unlock()
	return r.Registry.TransitionStage(ctx, name, version, st, archive)
}

// world is one test's registry, store, platform and clock.
type world struct {
	dir    string
	clock  *modelgatetest.Clock
	db     *sqlite.DB
	reg    *registry
	store  modelgate.PromotionStore
	dep    *deployer
	audit  *audit.Log
	gate   gate
	mode   promotion.Mode
	fixed3 bool // version 3 measures healthy from now on
}

const model = "demand-forecast"

func newWorld(t *testing.T) *world { return newModeWorld(t, promotion.StageMode{}) }

// newModeWorld seeds the registry for mode: stages, and in alias mode also
// @champion on v1 and @challenger on the candidates.
func newModeWorld(t *testing.T, mode promotion.Mode) *world {
	t.Helper()
	w := &world{dir: t.TempDir(), clock: modelgatetest.NewClock(time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)), dep: &deployer{}, gate: gate{pass: true}, mode: mode}
	w.db = sqlite.NewDB(filepath.Join(w.dir, "mg.db"))
	w.db.Now = w.clock.Now
	if err := w.db.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.db.Close() })
	w.reg = &registry{Registry: sqlite.NewRegistry(w.db, filepath.Join(w.dir, "artifacts")), calls: map[string]int{}}
	w.store = sqlite.NewPromotionStore(w.db)
	var err error
	if w.audit, err = audit.Open(filepath.Join(w.dir, "audit.jsonl")); err != nil {
		t.Fatal(err)
	}
	w.audit.Now = w.clock.Now
	w.seed(t)
	return w
}

var tags = map[string]string{"git_sha": "abc123", "dataset_version": "sales-2024-12-31", "approver": "ada"}

// seed registers v1 (Production, served) and v2, v3 (Staging, approved).
func (w *world) seed(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	for _, v := range []struct {
		seed  string
		stage modelgate.Stage
	}{{"v1", modelgate.StageProduction}, {"v2", modelgate.StageStaging}, {"v3", modelgate.StageStaging}} {
		mv, err := w.reg.CreateVersion(ctx, modelgate.NewVersion{Name: model, Dir: modelgatetest.MustModelDir(t, v.seed), Tags: tags, Metrics: map[string]float64{"mae": 5}, Stage: v.stage})
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := w.mode.(promotion.AliasMode); ok {
			alias := map[modelgate.Stage]string{modelgate.StageProduction: "champion", modelgate.StageStaging: "challenger"}[v.stage]
			if v.seed == "v3" {
				alias = "challenger3" // one @challenger at a time; tests move it
			}
			if err := w.reg.SetAlias(ctx, model, alias, mv.Version); err != nil {
				t.Fatal(err)
			}
		}
		for _, role := range []string{"data_science_lead", "compliance_officer"} {
			if err := w.store.AddApproval(ctx, &modelgate.Approval{Model: model, Version: mv.Version, Role: role, By: "by-" + role, At: w.clock.Now()}); err != nil {
				t.Fatal(err)
			}
		}
	}
	w.dep.split = modelgate.TrafficSplit{Stable: "1"}
}

func (w *world) service(owner string) *promotion.Service {
	p := promotion.DefaultPolicy()
	p.Window, p.Interval, p.Extension = 5*time.Minute, time.Minute, 2*time.Minute
	p.AbortPoll = 15 * time.Second
	return &promotion.Service{
		Registry: w.reg, Deployer: w.dep, Metrics: metrics{w.dep, &w.fixed3}, Store: w.store, Audit: w.audit,
		Judge: judge.DefaultThresholds(), Gates: []modelgate.Gate{w.gate}, Policy: p, Mode: w.mode,
		CacheDir: filepath.Join(w.dir, "cache"), Owner: owner, Actor: "test", ActorSource: "env:TEST",
		Now:   w.clock.Now,
		Sleep: func(_ context.Context, d time.Duration) error { w.clock.Advance(d); return nil },
		NewID: func() string { return "p-" + w.clock.Now().Format("150405.000000") },
	}
}

// state is what a promotion leaves behind, for comparing runs.
type state struct {
	Outcome modelgate.Outcome
	Stages  map[string]modelgate.Stage
	Aliases map[string][]string
	Tags    map[string]string
	Split   modelgate.TrafficSplit
}

func (w *world) state(t *testing.T, version string) state {
	t.Helper()
	ctx := context.Background()
	vs, err := w.reg.ListVersions(ctx, model)
	if err != nil {
		t.Fatal(err)
	}
	s := state{Stages: map[string]modelgate.Stage{}, Aliases: map[string][]string{}, Split: w.dep.split}
	for _, v := range vs {
		s.Stages[v.Version] = v.Stage
		if len(v.Aliases) > 0 {
			s.Aliases[v.Version] = v.Aliases
		}
		if v.Version == version {
			s.Tags = map[string]string{"outcome": v.Tags["modelgate.outcome"]}
		}
	}
	ps, err := w.store.ListPromotions(ctx, model)
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) > 0 {
		s.Outcome = ps[0].Outcome
	}
	return s
}
