package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/audit"
	"github.com/modelgate/modelgate/examples"
	"github.com/modelgate/modelgate/gateway"
	"github.com/modelgate/modelgate/gateway/loadgen"
	"github.com/modelgate/modelgate/mlmodel"
	"github.com/modelgate/modelgate/promotion"
)

type demoOptions struct {
	dir     string
	window  time.Duration
	rate    float64
	keepDir bool
}

func newDemoCmd(g *globals) *cobra.Command {
	o := demoOptions{}
	cmd := &cobra.Command{
		Use:   "demo [--dir DIR]",
		Short: "Run the whole playbook on the bundled example: v2 is promoted, v3 is rolled back",
		Long: `Run modelgate end to end with nothing else installed.

The demo registers the bundled demand-forecast models in a fresh embedded registry
(v1 in Production; v2 and v3 in Staging with their tags and approvals), serves v1
on the in-process gateway, drives live traffic from the example's request rows,
then promotes v2 and v3 through the whole playbook with a short canary window.
v2 is a better model and is promoted; v3 looks fine offline but its forecasts for
recent dates drift away from production's on live traffic, and it is rolled back.
Both decisions come from the measured traffic.

Everything it writes (registry, state, audit trail, CHANGELOG.md, reports, the
configuration it used) stays in DIR.`,
		Example: `  modelgate demo
  modelgate demo --dir ./demo-run -o json`,
		Args: nArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error { return g.demo(cmd.Context(), o) },
	}
	cmd.Flags().StringVar(&o.dir, "dir", "", "directory for everything the demo writes (must be empty or absent; default: a new temporary directory)")
	cmd.Flags().DurationVar(&o.window, "window", 60*time.Second, "canary window of each promotion")
	cmd.Flags().Float64Var(&o.rate, "rate", 300, "live requests per second sent to production")
	return cmd
}

type demoResult struct {
	Promotions []demoPromotion `json:"promotions"`
	Audit      string          `json:"audit"`
	Dir        string          `json:"dir"`
}

type demoPromotion struct {
	Model   string   `json:"model"`
	Version string   `json:"version"`
	ID      string   `json:"id"`
	Outcome string   `json:"outcome"`
	Reasons []string `json:"reasons"`
	Report  string   `json:"report"`
}

func (g *globals) demo(ctx context.Context, o demoOptions) error {
	dir, err := demoDir(o.dir)
	if err != nil {
		return err
	}
	if err := extractExample(filepath.Join(dir, "example")); err != nil {
		return err
	}
	srv, base, admin, stop, err := startDemoGateway(ctx, dir)
	if err != nil {
		return err
	}
	defer srv.Close()
	defer stop()
	cfg, err := writeDemoConfig(dir, base, admin, o.window)
	if err != nil {
		return err
	}
	a, err := openApp(cfg, g.warnings())
	if err != nil {
		return err
	}
	defer a.Close()
	g.say("demo directory: %s", dir)
	if err := seedDemo(ctx, a, dir); err != nil {
		return err
	}
	traffic, err := startTraffic(ctx, base, "demand-forecast", filepath.Join(dir, "example", "data", "live_requests.csv"), o.rate)
	if err != nil {
		return err
	}
	defer traffic.stop()
	res := demoResult{Audit: cfg.path(cfg.Records.Audit), Dir: dir}
	for _, v := range []string{"2", "3"} {
		dp, err := g.demoPromote(ctx, a, cfg, v)
		if err != nil {
			return err
		}
		res.Promotions = append(res.Promotions, dp)
	}
	sent, failed := traffic.stop()
	g.say("live traffic: %d requests sent, %d failed", sent, failed)
	return g.demoSummary(cfg, res)
}

func (g *globals) say(format string, args ...any) {
	fmt.Fprintf(g.stderr, "demo: "+format+"\n", args...)
}

func demoDir(dir string) (string, error) {
	if dir == "" {
		return os.MkdirTemp("", "modelgate-demo-")
	}
	entries, err := os.ReadDir(dir)
	if err == nil && len(entries) > 0 {
		return "", &usageErr{fmt.Errorf("demo directory %s is not empty: the demo needs a fresh registry; remove it or name another with --dir", dir)}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("create demo directory: %w", err)
	}
	return filepath.Abs(dir)
}

func extractExample(dst string) error {
	sub, err := fs.Sub(examples.FS, "demand-forecast")
	if err != nil {
		return err
	}
	return os.CopyFS(dst, sub)
}

// startDemoGateway runs the serving gateway in-process on free loopback
// ports, its admin API behind a token kept where the demo's configuration
// names it (.modelgate/admin-token).
func startDemoGateway(ctx context.Context, dir string) (srv *gateway.Server, data, admin string, stop func(), err error) {
	token, err := writeAdminToken(filepath.Join(dir, ".modelgate", adminTokenFileName))
	if err != nil {
		return nil, "", "", nil, err
	}
	srv = newGateway(filepath.Join(dir, ".modelgate", "gateway.json"), nil, nil, nil, withAdminToken(token, ""))
	if err := srv.Open(); err != nil {
		return nil, "", "", nil, err
	}
	if data, admin, stop, err = startLocalGateway(ctx, srv); err != nil {
		srv.Close()
		return nil, "", "", nil, err
	}
	return srv, data, admin, stop, nil
}

const demoConfig = `# Written by modelgate demo. The playbook's defaults, with a short canary
# window and bake (the watch after the rollout; 24h by default) so the demo
# ends in a couple of minutes.
model: demand-forecast
registry: {type: local, path: ./registry}
platform: {type: local, listen: %s, admin_listen: %s, admin_token_file: ./.modelgate/admin-token, state: ./.modelgate/gateway.json}
state: {dir: ./.modelgate}
canary: {percent: 10, window: %s, interval: 2s, extension: 20s}
bake: {duration: 20s, first_hour: 20s}
evaluation: {dataset: ./example/data/ground_truth.csv, target: units_sold}
records: {audit: ./.modelgate/audit.jsonl, changelog: ./CHANGELOG.md, reports: ./reports}
`

func writeDemoConfig(dir, listen, admin string, window time.Duration) (*Config, error) {
	path := filepath.Join(dir, "modelgate.yaml")
	if err := os.WriteFile(path, []byte(fmt.Sprintf(demoConfig, listen, admin, window)), 0o644); err != nil {
		return nil, fmt.Errorf("write demo config: %w", err)
	}
	return loadConfig(path, true)
}

type versionsFile struct {
	Model    string `json:"model"`
	Versions []struct {
		Version   string            `json:"version"`
		Dir       string            `json:"dir"`
		Stage     string            `json:"stage"`
		Tags      map[string]string `json:"tags"`
		Approvals []struct {
			Role string `json:"role"`
			By   string `json:"by"`
		} `json:"approvals"`
	} `json:"versions"`
}

// seedDemo registers the example versions with their tags, metrics and
// approvals, and serves the Production one.
func seedDemo(ctx context.Context, a *app, dir string) error {
	ex := filepath.Join(dir, "example")
	var vf versionsFile
	var metrics map[string]map[string]float64
	if err := readJSON(filepath.Join(ex, "versions.json"), &vf); err != nil {
		return err
	}
	if err := readJSON(filepath.Join(ex, "models", "metrics.json"), &metrics); err != nil {
		return err
	}
	sample, err := loadgen.ReadInstances(filepath.Join(ex, "data", "sales.csv"))
	if err != nil {
		return err
	}
	for _, v := range vf.Versions {
		st, err := modelgate.ParseStage(v.Stage)
		if err != nil {
			return err
		}
		dir, err := mlmodel.WithReferenceProfile(filepath.Join(ex, v.Dir), sample)
		if err != nil {
			return err
		}
		mv, err := a.registry.CreateVersion(ctx, modelgate.NewVersion{Name: vf.Model, Dir: dir, Tags: v.Tags, Metrics: metrics["v"+v.Version], Stage: st})
		os.RemoveAll(filepath.Dir(dir))
		if err != nil {
			return fmt.Errorf("register example version %s: %w", v.Version, err)
		}
		for _, ap := range v.Approvals {
			if err := approve(ctx, a, mv.Name, mv.Version, ap.Role, ap.By); err != nil {
				return err
			}
		}
		if st == modelgate.StageProduction {
			if err := serveProduction(ctx, a, mv); err != nil {
				return err
			}
		}
	}
	return nil
}

func serveProduction(ctx context.Context, a *app, mv *modelgate.ModelVersion) error {
	_, err := a.serviceAs("modelgate-demo", nil).Deploy(ctx, mv.Name, mv.Version, promotion.DeployOptions{Reason: "the demo's first deployment"})
	return err
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

func (g *globals) demoPromote(ctx context.Context, a *app, cfg *Config, version string) (demoPromotion, error) {
	g.say("promoting demand-forecast version %s", version)
	svc := a.serviceAs("modelgate-demo", g.progress())
	p, err := svc.Start(ctx, "demand-forecast", version)
	if err != nil {
		return demoPromotion{}, err
	}
	if p, err = svc.Run(ctx, p); err != nil {
		return demoPromotion{}, err
	}
	if p.Outcome == modelgate.OutcomeHeld {
		// Nobody is there to decide: end it so the next promotion can start.
		g.say("version %s was held for a person; the demo rolls it back", version)
		rb, _, err := svc.Abort(ctx, p.Model, "demo: no person to decide a held promotion")
		if err != nil {
			return demoPromotion{}, err
		}
		if _, err := svc.Run(ctx, rb); err != nil {
			return demoPromotion{}, err
		}
		p.Outcome = modelgate.OutcomeHeld
	}
	dp := demoPromotion{Model: p.Model, Version: p.Version, ID: p.ID, Outcome: string(p.Outcome), Reasons: p.Reasons,
		Report: filepath.Join(cfg.path(cfg.Records.Reports), p.ID+".md")}
	if dp.Reasons == nil {
		dp.Reasons = []string{}
	}
	g.say("version %s: %s", version, p.Outcome)
	for _, r := range p.Reasons {
		g.say("  - %s", r)
	}
	return dp, nil
}

func (g *globals) demoSummary(cfg *Config, res demoResult) error {
	key, err := cfg.auditKey()
	if err != nil {
		return err
	}
	r, err := audit.Check(res.Audit, audit.VerifyOptions{Keys: [][]byte{key}})
	if err != nil {
		return fmt.Errorf("the demo's audit trail does not verify: %w", err)
	}
	n := r.Entries
	if g.json() {
		return g.printJSON(res)
	}
	fmt.Fprintln(g.stdout, "modelgate demo finished:")
	for _, p := range res.Promotions {
		fmt.Fprintf(g.stdout, "  %s version %s: %s  (report %s)\n", p.Model, p.Version, p.Outcome, p.Report)
	}
	fmt.Fprintf(g.stdout, "  audit trail: %s (%d entries, chain intact)\n", res.Audit, n)
	fmt.Fprintf(g.stdout, "  CHANGELOG:   %s\n", filepath.Join(res.Dir, "CHANGELOG.md"))
	fmt.Fprintf(g.stdout, "Try: modelgate audit verify %s\n", res.Audit)
	return nil
}
