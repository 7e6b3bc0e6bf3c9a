package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sort"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/cobra"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/audit"
	"github.com/modelgate/modelgate/httpapi"
	"github.com/modelgate/modelgate/leader"
	"github.com/modelgate/modelgate/postgres"
	"github.com/modelgate/modelgate/promexport"
	"github.com/modelgate/modelgate/promotion"
	"github.com/modelgate/modelgate/report"
	"github.com/modelgate/modelgate/web"
)

func newServerCmd(g *globals) *cobra.Command {
	var listen string
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run modelgate as a team service: promotions as jobs behind a JSON API with tokens, /metrics",
		Long: `Run promotions as jobs of a long-running process, with the same engine, state
and audit trail as the CLI, behind a JSON API under /api/v1/ (bearer tokens with
roles: viewer, operator, approver, admin), with /metrics, /healthz and /readyz,
and a dashboard at / (it asks for a token, shows the promotions and their live
canary charts, and offers accept, abort and approve to the roles that may).

On start it resumes every unfinished promotion that no live process runs (a held
one stays held for a person), and it looks again every 30 seconds. Stopping it
(SIGTERM) leaves each running promotion where it is; the next server resumes it.

Tokens come from server.tokens_file (YAML: token -> {name, role}) and from the
variable server.admin_token_env names (MODELGATE_SERVER_ADMIN_TOKEN: one admin
token named "admin"). The CLI talks to it with --server URL (or
MODELGATE_SERVER) and MODELGATE_TOKEN.`,
		Example: `  MODELGATE_SERVER_ADMIN_TOKEN=$(openssl rand -hex 24) modelgate server --listen 127.0.0.1:8095
  curl -s -H "Authorization: Bearer $TOKEN" localhost:8095/api/v1/promotions`,
		Args: nArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := g.config(cmd)
			if err != nil {
				return err
			}
			if listen != "" {
				cfg.Server.Listen = listen
			}
			m := &serverMain{cfg: cfg, stderr: g.stderr, progress: g.progress()}
			defer m.Close()
			return m.Run(cmd.Context())
		},
	}
	cmd.Flags().StringVar(&listen, "listen", "", "address to listen on (overrides server.listen)")
	return cmd
}

// serverMain is `modelgate server`: Run opens everything and serves until
// ctx ends, Close releases what Run opened. Addr is the address it listens
// on once Ready is closed.
type serverMain struct {
	cfg      *Config
	stderr   io.Writer
	progress func(modelgate.Event) // the jobs' progress lines, on the server's log

	Addr  string
	Ready chan struct{} // closed once it listens and has resumed what it should

	app    *app
	runner *promotion.Runner
}

// Run serves the API until ctx ends, then stops the jobs where they are.
func (m *serverMain) Run(ctx context.Context) error {
	tokens, err := serverTokens(m.cfg, m.stderr)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", m.cfg.Server.Listen)
	if err != nil {
		return modelgate.Errorf(modelgate.EUNAVAILABLE, "server.listen: cannot listen on %s: %v", m.cfg.Server.Listen, err)
	}
	defer ln.Close()
	logger := slog.New(slog.NewTextHandler(m.stderr, nil))
	if m.app, err = openApp(m.cfg, logger); err != nil {
		return err
	}
	if err := m.app.servePayload(ctx); err != nil {
		return err
	}
	var elector *leader.Elector
	if le := m.cfg.Server.LeaderElection; le != nil {
		if elector, err = newElector(ctx, le, logger); err != nil {
			return err
		}
	}
	h, err := m.handler(tokens, logger, elector)
	if err != nil {
		return err
	}
	stopJobs, err := m.runJobs(ctx, logger, elector)
	if err != nil {
		return err
	}
	defer stopJobs()
	go m.sendSummaries(ctx, logger, time.Hour, elector)
	m.Addr = ln.Addr().String()
	fmt.Fprintf(m.stderr, "modelgate server on http://%s (dashboard at /, API under /api/v1/, %d token(s); /metrics, /healthz, /readyz)\n", m.Addr, tokens.Len())
	if m.Ready != nil {
		close(m.Ready)
	}
	// Requests live in ctx, so open event streams end when the server
	// stops (their clients reconnect to the next one) instead of holding
	// the shutdown.
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, BaseContext: func(net.Listener) context.Context { return ctx }}
	return serveUntilDone(ctx, hs, ln)
}

// runJobs opens the runner now, or, with leader election, each time this
// replica leads (closing it when the lease is lost). The returned function
// stops the jobs and, with leader election, releases the lease afterwards.
func (m *serverMain) runJobs(ctx context.Context, logger *slog.Logger, elector *leader.Elector) (func(), error) {
	if elector == nil {
		if err := m.runner.Open(ctx); err != nil {
			return nil, err
		}
		return func() { _ = m.runner.Close() }, nil
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := elector.Run(ctx, func(ctx context.Context) { m.lead(ctx, logger) }); err != nil {
			logger.Error("leader election stopped", "err", modelgate.ErrorMessage(err))
		}
	}()
	return func() { cancel(); <-done }, nil
}

// lead runs the jobs while this replica leads: what no live process runs
// is resumed, as after a restart.
func (m *serverMain) lead(ctx context.Context, logger *slog.Logger) {
	defer m.runner.Close()
	if err := m.runner.Open(ctx); err != nil {
		// Give the lease up: another replica may reach the store.
		logger.Warn("cannot start the promotion jobs as the leader", "err", modelgate.ErrorMessage(err))
		return
	}
	<-ctx.Done()
}

// sendSummaries sends the daily summaries that are due, now and every
// period until ctx ends (each day's summary is sent once, so the period
// only bounds how late one is). With leader election only the leader
// sends, so replicas do not race to send the same summary.
func (m *serverMain) sendSummaries(ctx context.Context, logger *slog.Logger, period time.Duration, elector *leader.Elector) {
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		if elector == nil || elector.Leading() {
			if _, err := m.app.serviceAs("modelgate-server", nil).DailySummaries(ctx, ""); err != nil && ctx.Err() == nil {
				logger.Warn("daily summaries", "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// handler wires the runner, the metrics and the API.
func (m *serverMain) handler(tokens *httpapi.Tokens, logger *slog.Logger, elector *leader.Elector) (http.Handler, error) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	metrics, err := promexport.NewMetrics(reg)
	if err != nil {
		return nil, err
	}
	auditLog := metrics.AuditLog(m.app.audit)
	if m.cfg.Platform.Type == "local" {
		reg.MustRegister(&promexport.GatewayCollector{Source: m.app.metrics, Models: m.models})
	}
	name, source := actorAndSource()
	m.runner = &promotion.Runner{Actor: modelgate.Actor{Name: name, Source: source}, Observer: metrics, Logger: logger,
		NewService: func(a modelgate.Actor, progress func(modelgate.Event)) *promotion.Service {
			svc := m.app.serviceAs(a.Name, func(e modelgate.Event) { progress(e); m.progress(e) })
			svc.ActorSource, svc.Audit = a.Source, auditLog
			return svc
		}}
	if elector != nil {
		m.runner.Standby = notLeader(elector)
		gauge := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "modelgate_leader",
			Help: "1 while this server replica leads (runs the promotions), 0 while it stands by."}, func() float64 {
			if elector.Leading() {
				return 1
			}
			return 0
		})
		reg.MustRegister(gauge)
	}
	api := httpapi.NewServer(m.runner, tokens, auditLog)
	if elector != nil {
		api.Leader = func() (bool, string) { return elector.Leading(), elector.Leader() }
	}
	api.Registerer, api.Gatherer, api.Logger = reg, reg, logger
	api.Ready, api.VerifyAudit = m.ready, m.verifyAudit
	api.UI, api.Report = web.Dashboard(), report.HTML
	return api.Handler()
}

// models are the models whose gateway figures are exported: the
// configured one and every one with a promotion.
func (m *serverMain) models(ctx context.Context) ([]string, error) {
	seen := map[string]bool{}
	if m.cfg.Model != "" {
		seen[m.cfg.Model] = true
	}
	ps, err := m.app.store.ListPromotions(ctx, "")
	if err != nil {
		return nil, err
	}
	for _, p := range ps {
		seen[p.Model] = true
	}
	out := make([]string, 0, len(seen))
	for name := range seen {
		out = append(out, name)
	}
	sort.Strings(out)
	return out, nil
}

// ready checks that the store and the registry answer.
func (m *serverMain) ready(ctx context.Context) error {
	if _, err := m.app.store.ListPromotions(ctx, "modelgate-readyz"); err != nil {
		return fmt.Errorf("the promotion store: %w", err)
	}
	if _, err := m.app.registry.ListModels(ctx); err != nil {
		return fmt.Errorf("the registry: %w", err)
	}
	return nil
}

// verifyAudit checks the configured trail with the configured key, as
// `modelgate audit verify -o json` prints it.
func (m *serverMain) verifyAudit(ctx context.Context) (any, error) {
	var o audit.VerifyOptions
	key, err := m.cfg.auditKey()
	if err != nil {
		return nil, err
	}
	if key != nil {
		o.Keys = append(o.Keys, key)
	}
	var r *audit.Report
	if l, ok := m.app.audit.(*postgres.AuditLog); ok {
		r, err = checkPostgresTrail(ctx, l, "$"+m.cfg.State.DSNEnv, o)
	} else {
		r, err = audit.Check(m.cfg.path(m.cfg.Records.Audit), o)
	}
	if r == nil {
		return nil, err
	}
	return verifyResult(r, err), nil
}

// Close releases what Run opened.
func (m *serverMain) Close() {
	if m.app != nil {
		m.app.Close()
	}
}

// serverTokens reads server.tokens_file and the admin token from the
// environment; a server with no token at all would refuse every call, so
// it does not start.
func serverTokens(cfg *Config, stderr io.Writer) (*httpapi.Tokens, error) {
	tokens := &httpapi.Tokens{}
	if f := cfg.Server.TokensFile; f != "" {
		if err := readTokensFile(cfg.path(f), tokens, stderr); err != nil {
			return nil, err
		}
	}
	if v := cfg.Server.AdminTokenEnv; v != "" && os.Getenv(v) != "" {
		if err := tokens.Add(os.Getenv(v), httpapi.Identity{Name: "admin", Role: httpapi.RoleAdmin}); err != nil {
			return nil, configErrorf("$%s: %v", v, err)
		}
	}
	if tokens.Len() == 0 {
		return nil, configErrorf("server: no tokens; set server.tokens_file (YAML: token -> {name, role}) or $%s (one admin token)", cfg.Server.AdminTokenEnv)
	}
	return tokens, nil
}
