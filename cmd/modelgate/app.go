package main

import (
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"modelgate"
	"modelgate/audit"
	"modelgate/gateway"
	"modelgate/judge"
	"modelgate/mlmodel"
	"modelgate/promotion"
	"modelgate/report"
	"modelgate/smoke"
	"modelgate/sqlite"
)

// app holds the adapters chosen by the configuration. This file is the only
// place where adapters are picked: an explicit switch per interface, an error
// for unknown types, no fallbacks.
type app struct {
	cfg      *Config
	regDB    *sqlite.DB
	stateDB  *sqlite.DB
	registry interface {
		modelgate.Registry
		modelgate.Registrar
	}
	store    modelgate.PromotionStore
	audit    *audit.Log
	deployer modelgate.Deployer
	metrics  modelgate.MetricsSource
	logger   *slog.Logger
}

func openApp(cfg *Config, logger *slog.Logger) (*app, error) {
	a := &app{cfg: cfg, logger: logger}
	if err := a.openRegistry(); err != nil {
		return nil, err
	}
	if err := a.openState(); err != nil {
		a.Close()
		return nil, err
	}
	if err := a.openPlatform(); err != nil {
		a.Close()
		return nil, err
	}
	return a, nil
}

func (a *app) openRegistry() error {
	switch a.cfg.Registry.Type {
	case "local":
		dir := a.cfg.path(a.cfg.Registry.Path)
		a.regDB = sqlite.NewDB(filepath.Join(dir, "registry.db"))
		if err := a.regDB.Open(); err != nil {
			return fmt.Errorf("open the registry at %s: %w", dir, err)
		}
		a.registry = sqlite.NewRegistry(a.regDB, filepath.Join(dir, "artifacts"))
		return nil
	}
	return configErrorf("registry.type: %q is not supported; expected local", a.cfg.Registry.Type)
}

func (a *app) openState() error {
	dir := a.cfg.path(a.cfg.State.Dir)
	a.stateDB = sqlite.NewDB(filepath.Join(dir, "state.db"))
	if err := a.stateDB.Open(); err != nil {
		return fmt.Errorf("open the promotion state at %s: %w", dir, err)
	}
	a.store = sqlite.NewPromotionStore(a.stateDB)
	l, err := audit.Open(a.cfg.path(a.cfg.Records.Audit))
	if err != nil {
		return err
	}
	a.audit = l
	return nil
}

func (a *app) openPlatform() error {
	switch a.cfg.Platform.Type {
	case "local":
		base := "http://" + a.cfg.Platform.Listen
		client := &http.Client{Timeout: 30 * time.Second}
		a.deployer = gateway.NewDeployer(base, client)
		a.metrics = gateway.NewMetricsSource(base, client)
		return nil
	}
	return configErrorf("platform.type: %q is not supported; expected local", a.cfg.Platform.Type)
}

func (a *app) Close() {
	for _, db := range []*sqlite.DB{a.regDB, a.stateDB} {
		if db != nil {
			_ = db.Close()
		}
	}
}

// service builds the promotion engine from the configuration.
func (a *app) service(actor string, progress func(promotion.Event)) *promotion.Service {
	c := a.cfg
	host, _ := os.Hostname()
	return &promotion.Service{
		Registry: a.registry, Deployer: a.deployer, Metrics: a.metrics, Store: a.store, Audit: a.audit,
		Judge:    a.judge(),
		Gates:    a.gates(),
		Records:  report.Files{Changelog: c.path(c.Records.Changelog), ReportsDir: c.path(c.Records.Reports)},
		Policy:   a.policy(),
		Mode:     a.mode(),
		CacheDir: filepath.Join(c.path(c.State.Dir), "artifacts"),
		Owner:    fmt.Sprintf("%s:%d:%d", host, os.Getpid(), time.Now().UnixNano()),
		Actor:    actor,
		Progress: progress,
		Logger:   a.logger,
	}
}

func (a *app) mode() promotion.Mode {
	if a.cfg.Registry.Promotion == "alias" {
		al := a.cfg.Registry.Aliases
		return promotion.AliasMode{Candidate: al.Candidate, Champion: al.Champion, Previous: al.Previous}
	}
	return promotion.StageMode{}
}

func (a *app) judge() modelgate.Judge {
	t := a.cfg.Thresholds
	return judge.Thresholds{
		ErrorRateMargin: t.ErrorRateMargin, LatencyP95Margin: t.LatencyP95Margin.D(), RelativeTolerance: t.RelativeTolerance,
		LatencyFloor: t.LatencyFloor.D(), MinRequests: a.cfg.Canary.MinRequests, EarlyPromotion: a.cfg.Canary.EarlyPromotion,
	}
}

func (a *app) policy() promotion.Policy {
	c := a.cfg
	p := promotion.DefaultPolicy()
	p.CanaryPercent, p.Window, p.Interval, p.Extension = c.Canary.Percent, c.Canary.Window.D(), c.Canary.Interval.D(), c.Canary.Extension.D()
	p.StagingTimeout = c.Staging.Timeout.D()
	p.RequiredTags, p.RequiredApprovals = c.Preconditions.RequiredTags, c.Preconditions.RequiredApprovals
	p.AllowMissingDigest = c.Preconditions.AllowMissingDigest
	return p
}

func (a *app) gates() []promotion.Gate {
	c := a.cfg
	client := &http.Client{Timeout: 30 * time.Second}
	s := &smoke.Requests{Count: c.Smoke.Count, Warmup: c.Smoke.Warmup, P95Max: c.Smoke.P95Max.D()}
	s.Client.HTTP = client
	for _, r := range c.Smoke.Requests {
		s.Bodies = append(s.Bodies, mustMarshal(r))
	}
	gates := []promotion.Gate{s}
	if c.Evaluation.Dataset != "" {
		e := &smoke.Evaluation{Dataset: c.path(c.Evaluation.Dataset), Target: c.Evaluation.Target, BatchSize: c.Evaluation.BatchSize, Tolerance: c.Evaluation.Tolerance}
		e.Client.HTTP = client
		gates = append(gates, e)
	}
	return gates
}

// newGateway builds the local serving gateway (for serve and demo).
func newGateway(statePath string, logger *slog.Logger) *gateway.Server {
	return gateway.NewServer(gateway.Options{
		Loader:    func(dir string) (gateway.Model, error) { return mlmodel.Load(dir) },
		StatePath: statePath,
		Logger:    logger,
	})
}

// actor names who runs modelgate, for the records.
func actor() string {
	if u := os.Getenv("MODELGATE_ACTOR"); u != "" {
		return u
	}
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	return "unknown"
}
