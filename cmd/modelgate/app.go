package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/audit"
	"github.com/modelgate/modelgate/gateway"
	"github.com/modelgate/modelgate/judge"
	"github.com/modelgate/modelgate/kserve"
	"github.com/modelgate/modelgate/lease"
	"github.com/modelgate/modelgate/mlflow"
	"github.com/modelgate/modelgate/mlmodel"
	"github.com/modelgate/modelgate/payload"
	"github.com/modelgate/modelgate/postgres"
	promsrc "github.com/modelgate/modelgate/prometheus"
	"github.com/modelgate/modelgate/promotion"
	"github.com/modelgate/modelgate/report"
	"github.com/modelgate/modelgate/smoke"
	"github.com/modelgate/modelgate/smtp"
	"github.com/modelgate/modelgate/sqlite"
	"github.com/modelgate/modelgate/webhook"
)

// app holds the adapters chosen by the configuration. This file is the only
// place where adapters are picked: an explicit switch per interface, an error
// for unknown types, no fallbacks.
type app struct {
	cfg      *Config
	regDB    *sqlite.DB
	stateDB  interface{ Close() error } // the store's database, sqlite or postgres; nil until opened
	registry interface {
		modelgate.Registry
		modelgate.Registrar
	}
	store    modelgate.PromotionStore
	audit    modelgate.AuditLog // audit.Log (sqlite state) or postgres.AuditLog
	deployer modelgate.Deployer
	metrics  modelgate.MetricsSource
	prom     *promsrc.MetricsSource // Prometheus, on KServe
	receiver *payload.Receiver      // KServe payload logger sink, when configured
	notifier modelgate.Notifier     // e-mail and webhooks; nil when none are configured
	ticketer modelgate.Ticketer     // incident tickets (GitHub, Jira); nil when none is configured
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
	if err := a.openNotifiers(); err != nil {
		a.Close()
		return nil, err
	}
	t, err := cfg.ticketer()
	if err != nil {
		a.Close()
		return nil, err
	}
	a.ticketer = t
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
	case "mlflow":
		r, err := mlflow.New(a.mlflowOptions())
		if err != nil {
			return configErrorf("registry: %s", modelgate.ErrorMessage(err))
		}
		a.registry = r
		return nil
	}
	return configErrorf("registry.type: %q is not supported; expected local or mlflow", a.cfg.Registry.Type)
}

// mlflowOptions takes credentials from the environment (MLflow's client
// variables) and everything else from the configuration.
func (a *app) mlflowOptions() mlflow.Options {
	c := a.cfg.Registry
	o := mlflow.OptionsFromEnv()
	if c.URI != "" {
		o.URI = c.URI
	}
	if c.CAFile != "" {
		o.CAFile = a.cfg.path(c.CAFile)
	}
	o.Insecure = o.Insecure || c.Insecure
	o.Experiment, o.RequireSignature, o.SignatureFile = c.Experiment, c.RequireSignature, c.SignatureFile
	for _, k := range c.PublicKeys {
		o.PublicKeys = append(o.PublicKeys, a.cfg.path(k))
	}
	o.Logger = a.logger
	return o
}

// openState opens the PromotionStore and the audit trail state.type names:
// with sqlite, state.db in state.dir and the JSON Lines file records.audit;
// with postgres, both in the database, shared by every modelgate process
// that reaches it.
func (a *app) openState() error {
	key, err := a.cfg.auditKey()
	if err != nil {
		return err
	}
	switch t := a.cfg.State.Type; t {
	case "sqlite":
		dir := a.cfg.path(a.cfg.State.Dir)
		db := sqlite.NewDB(filepath.Join(dir, "state.db"))
		if err := db.Open(); err != nil {
			return fmt.Errorf("open the promotion state at %s: %w", dir, err)
		}
		a.stateDB, a.store = db, sqlite.NewPromotionStore(db)
		l, err := audit.Open(a.cfg.path(a.cfg.Records.Audit))
		if err != nil {
			return err
		}
		l.Key, a.audit = key, l
		return nil
	case "postgres":
		db, err := a.cfg.openPostgres()
		if err != nil {
			return err
		}
		l := postgres.NewAuditLog(db)
		l.Key = key
		a.stateDB, a.store, a.audit = db, postgres.NewPromotionStore(db), l
		return nil
	default:
		return configErrorf("state.type: %q is not supported; expected sqlite or postgres", t)
	}
}

// openPostgres opens the database of state.type postgres, whose connection
// string is in the variable state.dsn_env names.
func (c *Config) openPostgres() (*postgres.DB, error) {
	env := c.State.DSNEnv
	dsn := os.Getenv(env)
	if dsn == "" {
		return nil, configErrorf("state.type postgres: the environment variable %s (state.dsn_env) is empty; set it to the connection string, e.g. postgres://modelgate@db:5432/modelgate", env)
	}
	// Commands open their adapters before they have a context of their
	// own; this one bounds connecting and migrating, not the later use.
	ctx, cancel := context.WithTimeout(context.Background(), postgresOpenTimeout)
	defer cancel()
	db := postgres.NewDB(dsn)
	if err := db.Open(ctx); err != nil {
		return nil, fmt.Errorf("open the promotion state in PostgreSQL ($%s): %w", env, err)
	}
	return db, nil
}

// postgresOpenTimeout bounds connecting to PostgreSQL and migrating it when
// a command starts.
const postgresOpenTimeout = 30 * time.Second

func (a *app) openPlatform() error {
	switch a.cfg.Platform.Type {
	case "local":
		ep := a.cfg.gatewayEndpoints(&http.Client{Timeout: 30 * time.Second})
		d := gateway.NewDeployerFor(ep)
		d.MirrorPercent = a.cfg.Canary.MirrorPercent
		a.deployer = d
		a.metrics = gateway.NewMetricsSourceFor(ep)
		return nil
	case "kserve":
		kd, err := kserve.Open(kserveOptions(a.cfg.Platform.KServe))
		if err != nil {
			return err
		}
		kd.Log = a.logger
		a.deployer = kd
		return a.openPrometheus(kd)
	}
	return configErrorf("platform.type: %q is not supported; expected local or kserve", a.cfg.Platform.Type)
}

// kserveOptions converts platform's kserve keys; the kserve package knows
// nothing of the config file.
func kserveOptions(c KServeConfig) kserve.Options {
	o := kserve.Options{
		Kubeconfig: c.Kubeconfig, Context: c.Context,
		StagingNamespace: c.StagingNamespace, ProductionNamespace: c.ProductionNamespace, Name: c.Name,
		ModelFormat: c.ModelFormat, ModelFormatVersion: c.ModelFormatVersion, Runtime: c.Runtime, ProtocolVersion: c.ProtocolVersion,
		Resources:      kserve.Resources{Requests: c.Resources.Requests, Limits: c.Resources.Limits},
		ServiceAccount: c.ServiceAccount,
		Logger: kserve.Logger{URL: c.Logger.URL, Mode: c.Logger.Mode,
			MetadataHeaders: c.Logger.MetadataHeaders, MetadataAnnotations: c.Logger.MetadataAnnotations},
		Labels: c.Labels, Annotations: c.Annotations, MinReplicas: c.MinReplicas,
		CanaryTimeout: c.CanaryTimeout.D(), PollInterval: c.PollInterval.D(),
		GitOpsDir: c.GitOpsDir, VirtualService: c.VirtualService, LogTail: c.LogTail,
		DeploymentMode: c.DeploymentMode,
		Route: kserve.Route{Kind: c.Route.Kind, Name: c.Route.Name, Gateway: c.Route.Gateway,
			Hostnames: c.Route.Hostnames, URL: c.Route.URL},
	}
	for _, r := range c.StorageURI {
		o.StorageURI = append(o.StorageURI, kserve.StorageRule{From: r.From, To: r.To})
	}
	return o
}

// prometheusOptions converts metrics' prometheus keys.
func prometheusOptions(c PrometheusConfig) promsrc.Options {
	n := c.Names
	return promsrc.Options{URL: c.URL, Family: c.Family, Lookback: c.Lookback.D(), Names: promsrc.Metrics{
		Requests: n.Requests, Latency: n.Latency, LatencyUnit: n.LatencyUnit,
		RevisionLabel: n.RevisionLabel, RevisionValue: n.RevisionValue,
		NamespaceLabel: n.NamespaceLabel, CodeLabel: n.CodeLabel, Matchers: n.Matchers,
	}}
}

// openNotifiers builds one notifier per configured destination; a bad
// destination is a configuration error, a failing one later is not.
func (a *app) openNotifiers() error {
	n := a.cfg.Notify
	var list modelgate.Notifiers
	var errs []error
	if e := n.Email; e != nil {
		s, err := smtp.New(smtp.Options{Addr: e.Addr, StartTLS: e.StartTLS, CAFile: a.cfg.path(e.CAFile), UsernameEnv: e.UsernameEnv,
			PasswordEnv: e.PasswordEnv, From: e.From, To: e.To, Timeout: e.Timeout.D()})
		if err != nil {
			errs = append(errs, fmt.Errorf("notify.email: %s", modelgate.ErrorMessage(err)))
		} else {
			list = append(list, s)
		}
	}
	for i, w := range n.Webhooks {
		h, err := webhook.New(webhook.Options{URL: w.URL, URLEnv: w.URLEnv, Format: w.Format, Timeout: w.Timeout.D()})
		if err != nil {
			errs = append(errs, fmt.Errorf("notify.webhooks[%d]: %s", i, modelgate.ErrorMessage(err)))
			continue
		}
		list = append(list, h)
	}
	if len(errs) > 0 {
		return configErrorf("%v", errors.Join(errs...))
	}
	if len(list) > 0 {
		a.notifier = list
	}
	return nil
}

// openPrometheus reads per-revision figures from Prometheus, naming the
// revisions through the KServe deployer.
func (a *app) openPrometheus(kd *kserve.Deployer) error {
	switch a.cfg.Metrics.Type {
	case "prometheus":
		src, err := promsrc.New(prometheusOptions(a.cfg.Metrics.Prometheus), func(ctx context.Context, model string) (promsrc.Split, error) {
			r, err := kd.Revisions(ctx, model)
			if err != nil {
				return promsrc.Split{}, err
			}
			return promsrc.Split{Namespace: r.Namespace, Since: r.Since,
				Stable: promsrc.Target{Revision: r.StableRevision, Version: r.StableVersion},
				Canary: promsrc.Target{Revision: r.CanaryRevision, Version: r.CanaryVersion}}, nil
		})
		if err != nil {
			return err
		}
		a.metrics, a.prom = src, src
		if a.cfg.Payload.Listen != "" {
			a.receiver = a.newReceiver(kd)
			a.metrics = payload.MetricsSource{Metrics: src, Receiver: a.receiver}
		}
		return nil
	}
	return configErrorf("metrics.type: platform kserve needs metrics {type: prometheus, url: …}")
}

func (a *app) newReceiver(kd *kserve.Deployer) *payload.Receiver {
	c := a.cfg.Payload
	r := payload.NewReceiver(a.cfg.Model)
	r.Service = kd.Options().ServiceName(a.cfg.Model)
	r.VersionAnnotation, r.TTL, r.MaxPending = c.VersionAnnotation, c.TTL.D(), c.MaxPending
	r.Actuals = newActuals(a.cfg.Actuals)
	r.Logger = a.logger
	return r
}

// servePayload runs the CloudEvents receiver (and POST /actuals) on
// payload.listen until ctx ends; a promotion's window needs it.
func (a *app) servePayload(ctx context.Context) error {
	if a.receiver == nil {
		return nil
	}
	mux := http.NewServeMux()
	if a.receiver.Actuals != nil {
		mux.Handle("POST /actuals", a.receiver.Actuals)
	}
	mux.Handle("/", a.receiver)
	ln, err := net.Listen("tcp", a.cfg.Payload.Listen)
	if err != nil {
		return modelgate.Errorf(modelgate.EUNAVAILABLE, "payload.listen: cannot listen on %s: %v", a.cfg.Payload.Listen, err)
	}
	go func() { _ = serveUntilDone(ctx, &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}, ln) }()
	return nil
}

func (a *app) Close() {
	if a.regDB != nil {
		_ = a.regDB.Close()
	}
	if a.stateDB != nil {
		_ = a.stateDB.Close()
	}
}

// service builds the promotion engine for the person running modelgate
// (actorAndSource).
func (a *app) service(progress func(promotion.Event)) *promotion.Service {
	name, source := actorAndSource()
	svc := a.serviceAs(name, progress)
	svc.ActorSource = source
	return svc
}

// serviceAs builds the promotion engine acting under a given name.
func (a *app) serviceAs(actor string, progress func(promotion.Event)) *promotion.Service {
	c := a.cfg
	return &promotion.Service{
		Registry: a.registry, Deployer: a.deployer, Metrics: a.metrics, Store: a.store, Audit: a.audit,
		Judge:           a.judge(),
		Gates:           a.gates(),
		Records:         a.files(),
		Policy:          a.policy(),
		AlertRules:      c.alertRules(),
		Ticketer:        a.ticketer,
		PostMortems:     a.files(),
		EffectiveConfig: c.effective(),
		Mode:            a.mode(),
		Notifier:        a.notifier, ReportPath: c.path(c.Records.Reports),
		MonitoringChecks: a.monitoringChecks,
		CacheDir:         filepath.Join(c.path(c.State.Dir), "artifacts"),
		Owner:            lease.Self(),
		HolderGone:       lease.Gone,
		Actor:            actor,
		ConfigHash:       c.hash(),
		Progress:         drillCrash(progress),
		Logger:           a.logger,
	}
}

// monitoringChecks are the platform's checks of model's alert rules for
// the preconditions: on KServe the PrometheusRule and whether Prometheus
// loaded it; the local platform has no Prometheus to check.
func (a *app) monitoringChecks(ctx context.Context, model string) []modelgate.MonitoringCheck {
	kd, ok := a.deployer.(*kserve.Deployer)
	if !ok {
		return []modelgate.MonitoringCheck{{Name: "alert rules", Status: modelgate.MonitoringSkipped,
			Detail: "the local platform has no Prometheus to hold alert rules; the bake evaluates the same conditions on the gateway's own figures"}}
	}
	checks := []modelgate.MonitoringCheck{kd.CheckAlertRules(ctx, model)}
	if a.prom != nil {
		checks = append(checks, a.prom.CheckRulesLoaded(ctx, model))
	}
	return checks
}

func (a *app) mode() promotion.Mode {
	if a.cfg.Registry.Promotion == "alias" {
		al := a.cfg.Registry.Aliases
		return promotion.AliasMode{Candidate: al.Candidate, Champion: al.Champion, Previous: al.Previous}
	}
	return promotion.StageMode{}
}

// judge builds the configured canary judge: an explicit switch, no fallback.
func (a *app) judge() modelgate.Judge {
	t, c, j := a.cfg.Thresholds, a.cfg.Canary, a.cfg.Judge
	switch j.Type {
	case "thresholds":
		return judge.Thresholds{
			ErrorRateMargin: t.ErrorRateMargin, LatencyP95Margin: t.LatencyP95Margin.D(), RelativeTolerance: t.RelativeTolerance,
			LatencyFloor: t.LatencyFloor.D(), MinRequests: c.MinRequests, EarlyPromotion: c.EarlyPromotion,
		}
	case "sequential":
		s := judge.DefaultSequential()
		s.Alpha, s.StrictErrorMargin, s.Rule = j.Alpha, j.StrictErrorMargin, judge.Rule(j.DecisionRule)
		s.ErrorRateMargin, s.LatencyP95Margin, s.RelativeTolerance, s.LatencyFloor = t.ErrorRateMargin, t.LatencyP95Margin.D(), t.RelativeTolerance, t.LatencyFloor.D()
		s.PredictionMargin, s.PredictionTolerance, s.FeatureMargin = j.PredictionMargin, j.PredictionTolerance, j.FeatureMargin
		s.PSIAlert, s.WassersteinAlert, s.LInfAlert = j.PSIAlert, j.WassersteinAlert, j.LInfAlert
		s.MinRequests, s.MinDriftSamples, s.EarlyPromotion = c.MinRequests, j.MinDriftSamples, c.EarlyPromotion
		s.KPITolerance, s.MinActuals, s.RequireKPI = j.KPITolerance, j.MinActuals, j.RequireKPI
		return s
	}
	panic("unreachable: judge.type is validated") // validate() rejects other types
}

func (a *app) policy() promotion.Policy {
	c := a.cfg
	p := promotion.DefaultPolicy()
	p.CanaryPercent, p.Window, p.Interval, p.Extension = c.Canary.Percent, c.Canary.Window.D(), c.Canary.Interval.D(), c.Canary.Extension.D()
	p.StagingTimeout = c.Staging.Timeout.D()
	p.RequiredTags, p.RequiredApprovals = c.Preconditions.RequiredTags, c.Preconditions.RequiredApprovals
	p.AllowMissingDigest = c.Preconditions.AllowMissingDigest
	p.FourEyes = c.Preconditions.FourEyes
	p.AuthorTag, p.AuthorMayApprove, p.ApprovalMaxAge = c.Preconditions.AuthorTag, c.Preconditions.AuthorMayApprove, c.Preconditions.ApprovalMaxAge.D()
	p.Links, p.RegistryURI = c.Records.Links, c.registryURI()
	p.Monitoring = c.Preconditions.Monitoring
	c.bakePolicy(&p)
	return p
}

// files are the records on disk: changelog, reports, post-mortems.
func (a *app) files() report.Files {
	c := a.cfg
	return report.Files{Changelog: c.path(c.Records.Changelog), ReportsDir: c.path(c.Records.Reports), PostMortemsDir: c.path(c.Records.PostMortems)}
}

func (a *app) gates() []modelgate.Gate {
	c := a.cfg
	client := &http.Client{Timeout: 30 * time.Second}
	s := &smoke.Requests{Protocols: c.Smoke.Protocols, Count: c.Smoke.Count, Warmup: c.Smoke.Warmup, P95Max: c.Smoke.P95Max.D(),
		Min: c.Smoke.Min, Max: c.Smoke.Max, Spec: smoke.ReadSpec}
	s.Client.HTTP = client
	for _, r := range c.Smoke.Requests {
		s.Bodies = append(s.Bodies, mustMarshal(r))
	}
	gates := []modelgate.Gate{s}
	if e := c.Evaluation; e.Dataset != "" {
		dataset := e.Dataset
		if !strings.HasPrefix(dataset, "artifact:") {
			dataset = c.path(dataset)
		}
		g := &smoke.Evaluation{Dataset: dataset, Target: e.Target, Segment: e.Segment, Task: e.Task, Threshold: e.Threshold,
			Protocol: e.Protocol, BatchSize: e.BatchSize, Tolerance: e.Tolerance}
		if e.CompareProduction {
			g.Production = a.deployer
		}
		g.Client.HTTP = client
		gates = append(gates, g)
	}
	if sampler, ok := a.deployer.(modelgate.RequestSampler); ok && c.Evaluation.RecentRequests > 0 {
		e := c.Evaluation
		g := &smoke.Recent{Sampler: sampler, Production: a.deployer, Rows: e.RecentRequests, Segment: e.Segment,
			Tolerance: c.Judge.PredictionTolerance, BatchSize: e.BatchSize, Protocol: e.Protocol}
		g.Client.HTTP = client
		gates = append(gates, g)
	}
	return gates
}

// newActuals returns the actuals store the configuration asks for, or nil.
func newActuals(c ActualsConfig) *payload.Actuals {
	if !c.Enabled {
		return nil
	}
	a := payload.NewActuals()
	a.MaxPredictions, a.MaxAge = c.MaxPredictions, c.MaxAge.D()
	return a
}

// newGateway builds the local serving gateway (for serve and demo). Models
// named in external are served by their external server; the rest natively.
// With actuals, the gateway takes POST /actuals and joins them by request id.
func newGateway(statePath string, external map[string]ExternalConfig, actuals *payload.Actuals, logger *slog.Logger, edits ...func(*gateway.Options)) *gateway.Server {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	var acts gateway.Actuals
	if actuals != nil {
		acts = actuals
	}
	opts := gateway.Options{
		Actuals: acts,
		DeploymentLoader: func(d modelgate.Deployment) (gateway.Model, error) {
			ext, ok := external[d.Model]
			if !ok {
				return mlmodel.Load(d.ModelDir)
			}
			spec := gateway.UpstreamSpec{URL: ext.URL, Command: ext.Command, Protocol: ext.Protocol, Name: ext.Name, ReadyTimeout: ext.ReadyTimeout.D(), Logger: logger}
			if ext.MeasureFeatures {
				if m, err := mlmodel.Load(d.ModelDir); err == nil {
					spec.Features = m
				}
			}
			return gateway.StartUpstream(context.Background(), spec, d)
		},
		StatePath: statePath,
		Logger:    logger,
	}
	for _, edit := range edits {
		edit(&opts)
	}
	return gateway.NewServer(opts)
}

// withLimits sets the data plane's limits (and busy polling) from
// platform's keys.
func withLimits(c PlatformConfig) func(*gateway.Options) {
	return func(o *gateway.Options) {
		o.MaxBodyBytes, o.MaxInstances, o.MaxConcurrent, o.RequestTimeout = c.MaxBodyBytes, c.MaxInstances, c.MaxConcurrent, c.RequestTimeout.D()
		o.BusyPoll = c.BusyPoll.D()
	}
}

// withAdminToken makes the gateway's admin API require token.
func withAdminToken(token, hint string) func(*gateway.Options) {
	return func(o *gateway.Options) { o.AdminToken, o.AdminTokenHint = token, hint }
}
