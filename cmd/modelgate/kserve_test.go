package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/kserve/kservetest"
	"github.com/modelgate/modelgate/mlmodel"
	promsrc "github.com/modelgate/modelgate/prometheus"
	"github.com/modelgate/modelgate/prometheus/prometheustest"
)

// TestPromoteOnKServe is the acceptance run through the CLI only, the
// binary as separate processes, against KServe v0.20.0's real controller
// manager and Knative Serving v0.48.1's real controllers (stand-ins only
// for revision pods, endpoints and KIngress status: kservetest.StartReal),
// with RBAC on (modelgate authenticates as the service account
// deploy/rbac.yaml grants) and a real Prometheus scraping per-revision
// series: `modelgate deploy` seeds production with v1; `modelgate promote`
// of v2 is SIGKILLed in the middle of its canary window and `promote
// --resume` takes it to 100% (exit 0); v3 is rolled back (exit 3).
//
// No data plane runs, so the test plays it: dataPlane is the cluster's
// ingress for the URLs KServe publishes (an HTTP proxy, HTTP_PROXY for the
// binary) and serves the model the InferenceService's storageUri names
// (through the storage_uri mapping, back to the registry's artifact
// store), so the staging smoke gate runs for real against what KServe
// would download. revisionExporter plays the metrics Knative's queue-proxy
// exports for each revision Knative created: v3 errs on 20% of requests.
func TestPromoteOnKServe(t *testing.T) {
	if testing.Short() {
		t.Skip("runs canary windows against KServe's and Knative's real controllers")
	}
	c, err := kservetest.StartReal(kservetest.RealOptions{Knative: true})
	kservetest.Check(t, err)
	t.Cleanup(func() { _ = c.Stop() })
	exp := &revisionExporter{namespace: "mlops", name: "demand-forecast"}
	w, prom, proxy := kserveWorldOn(t, c, exp, `bake: {duration: 0s}
preconditions: {monitoring: error}
records: {links: {dashboard: "https://grafana.example.com/d/serving?var-model={model}"}}
`)
	r := newRealRunner(t, w, proxy)
	w.registerApproved(t, "2", "3")

	r.must(t, 0, "deploy", "demand-forecast", "--version", "1")
	mustServe(t, c, w, "1")

	// preconditions.monitoring: error refuses a promotion without the
	// model's PrometheusRule; modelgate alerts --apply puts it there.
	if _, out := r.mustBoth(t, 1, "promote", "demand-forecast", "--version", "2"); !strings.Contains(out,
		"monitoring is not in place (preconditions.monitoring: error): alert rules: no PrometheusRule mlops/demand-forecast-modelgate") {
		t.Fatalf("promote without alert rules: %s", out)
	}
	if out := r.must(t, 0, "alerts", "demand-forecast", "--apply"); !strings.Contains(out, "applied PrometheusRule mlops/demand-forecast-modelgate: 3 alerts for demand-forecast version 1") {
		t.Fatalf("alerts --apply: %s", out)
	}
	r.killMidWindow(t, "promote", "demand-forecast", "--version", "2")
	var promote struct{ Report string }
	if err := json.Unmarshal([]byte(r.must(t, 0, "promote", "demand-forecast", "--resume", "-o", "json")), &promote); err != nil {
		t.Fatal(err)
	}
	mustServe(t, c, w, "2")
	wantReport(t, promote.Report, "- ok alert rules: PrometheusRule mlops/demand-forecast-modelgate, written for version 1",
		"- ok alert rules loaded by Prometheus: Prometheus at "+prom+" evaluates group modelgate.demand-forecast",
		"- ok dashboard: https://grafana.example.com/d/serving?var-model=demand-forecast")

	var res struct {
		Promotion modelgate.Promotion
		Report    string
	}
	if err := json.Unmarshal([]byte(r.must(t, 3, "promote", "demand-forecast", "--version", "3", "-o", "json")), &res); err != nil {
		t.Fatal(err)
	}
	if res.Promotion.Outcome != modelgate.OutcomeRolledBack || !strings.Contains(strings.Join(res.Promotion.Reasons, " "), "error_rate") {
		t.Fatalf("v3: outcome %s, reasons %q; want rolled_back naming error_rate", res.Promotion.Outcome, res.Promotion.Reasons)
	}
	mustServe(t, c, w, "2")
	mustEvidence(t, strings.TrimSuffix(res.Report, ".md")+".json")
	r.must(t, 0, "audit", "verify", filepath.Join(w.dir, ".modelgate", "audit.jsonl"))
}

// kserveWorldOn is the world of a CLI test on cluster c (StartReal): the
// data plane (returned as the URL of the HTTP proxy it is for the URLs
// KServe publishes), the per-revision metrics exp plays, a real Prometheus
// scraping exp with the model's alert rules, and a CLI configuration for
// them with more appended.
func kserveWorldOn(t *testing.T, c *kservetest.Cluster, exp *revisionExporter, more string) (*cliWorld, string, string) {
	t.Helper()
	dir := t.TempDir()
	if err := extractExample(filepath.Join(dir, "example")); err != nil {
		t.Fatal(err)
	}
	dp := httptest.NewServer(&dataPlane{c: c, artifacts: filepath.Join(dir, "registry", "artifacts"), models: map[string]*mlmodel.Model{}})
	t.Cleanup(dp.Close)
	exp.c = c
	expSrv := httptest.NewServer(exp)
	t.Cleanup(expSrv.Close)
	// The rules the prometheus-operator would load into Prometheus from the
	// PrometheusRule `modelgate alerts --apply` writes.
	m, err := promsrc.MetricsFor("knative", promsrc.Metrics{})
	if err != nil {
		t.Fatal(err)
	}
	rules, err := m.Rules(promsrc.RuleTarget{Model: "demand-forecast", Version: "1", Service: "demand-forecast", Namespace: "mlops"}, promsrc.RuleOptions{}).YAML()
	if err != nil {
		t.Fatal(err)
	}
	prom := prometheustest.StartWithRules(t, strings.TrimPrefix(expSrv.URL, "http://"), rules)

	w := &cliWorld{dir: dir, config: filepath.Join(dir, "modelgate.yaml")}
	cfg := fmt.Sprintf(`model: demand-forecast
registry: {type: local, path: registry}
platform:
  type: kserve
  kubeconfig: %s
  model_format: lightgbm
  storage_uri: [{from: "modelgate-artifacts:/", to: "s3://models/"}]
  poll_interval: 100ms
  canary_timeout: 30s
metrics: {type: prometheus, url: %s, family: knative}
canary: {percent: 10, window: 6s, interval: 1s, extension: 10s, min_requests: 100}
judge: {type: thresholds}
staging: {timeout: 30s}
smoke: {count: 10, warmup: 1}
`, c.Kubeconfig, prom) + more
	if err := os.WriteFile(w.config, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return w, prom, dp.URL
}

func wantReport(t *testing.T, path string, want ...string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range want {
		if !strings.Contains(string(b), w) {
			t.Errorf("report %s lacks %q:\n%s", path, w, b)
		}
	}
}

// mustServe checks production's InferenceService, as the API server holds
// it: version's spec and storageUri, no canaryTrafficPercent, and version's
// revision rolled out at 100%.
func mustServe(t *testing.T, c *kservetest.Cluster, w *cliWorld, version string) {
	t.Helper()
	obj, err := c.Dyn.Resource(kservetest.ISVC).Namespace("mlops").Get(context.Background(), "demand-forecast", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	digest, err := modelgate.DirDigest(filepath.Join(w.dir, "example", "models", "v"+version))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := nested(obj, "spec", "predictor", "model", "storageUri"), "s3://models/sha256/"+digest; got != want {
		t.Errorf("production storageUri = %q, want version %s's %q", got, version, want)
	}
	if got := obj.GetAnnotations()["modelgate.dev/version"]; got != version {
		t.Errorf("production spec is version %q, want %s", got, version)
	}
	if _, has, _ := unstructured.NestedInt64(obj.Object, "spec", "predictor", "canaryTrafficPercent"); has {
		t.Error("canaryTrafficPercent is still set")
	}
	rolledOut := nested(obj, "status", "components", "predictor", "latestRolledoutRevision")
	if v := revisionVersion(c, rolledOut); v != version {
		t.Errorf("latestRolledoutRevision %s serves version %q, want %s", rolledOut, v, version)
	}
	traffic, _, _ := unstructured.NestedSlice(obj.Object, "status", "components", "predictor", "traffic")
	perVersion := map[string]int64{}
	for _, e := range traffic {
		m := e.(map[string]any)
		pct, _ := m["percent"].(int64)
		perVersion[revisionVersion(c, m["revisionName"].(string))] += pct
	}
	if perVersion[version] != 100 || len(perVersion) != 1 {
		t.Errorf("status traffic by version = %v, want version %s at 100%%", perVersion, version)
	}
}

func nested(obj *unstructured.Unstructured, fields ...string) string {
	s, _, _ := unstructured.NestedString(obj.Object, fields...)
	return s
}

func revisionVersion(c *kservetest.Cluster, name string) string {
	for _, r := range c.Revisions("mlops", "demand-forecast") {
		if r.Name == name {
			return r.Version
		}
	}
	return ""
}

// mustEvidence checks v3's report: the smoke gate ran against the staging
// data plane, and the window's and the rollback's evidence carry the
// predictor logs per revision. No kubelet runs, so the API server
// serves every pod's log as empty: this proves the wiring (the canary's pods
// found by label and revision, as the limited identity), not the counting,
// which kserve's tests cover with a stub log reader.
func mustEvidence(t *testing.T, reportJSON string) {
	t.Helper()
	b, err := os.ReadFile(reportJSON)
	if err != nil {
		t.Fatal(err)
	}
	var rep struct{ Steps []*modelgate.StepRecord }
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	found := map[modelgate.Step]bool{}
	for _, s := range rep.Steps {
		var logs []modelgate.RevisionLogs
		switch ev, _ := s.DecodeEvidence(); ev := ev.(type) {
		case *modelgate.SmokeEvidence:
			if s.Outcome != modelgate.ResultOK || len(ev.Gates) == 0 || ev.Gates[0].Name != "smoke" || !ev.Gates[0].Passed {
				t.Errorf("smoke step: outcome %q, evidence %s; want the smoke gate passed", s.Outcome, s.Evidence)
			}
		case *modelgate.WindowEvidence:
			logs = ev.Logs
		case *modelgate.RollbackEvidence:
			logs = ev.Logs
		}
		for _, l := range logs {
			if l.Version == "3" && len(l.Pods) > 0 && len(l.ReadErrors) == 0 {
				found[s.Step] = true
			}
		}
	}
	if !found[modelgate.StepWindow] || !found[modelgate.StepRollback] {
		t.Errorf("the canary's predictor logs are not in the window's and the rollback's evidence (found %v):\n%s", found, b)
	}
}

// dataPlane plays KServe's data plane as an HTTP proxy for the URLs KServe
// publishes (the cluster's ingress): a V1 predict serves the model the
// InferenceService's storageUri names, read from the registry's artifact
// store (s3://models/ is modelgate-artifacts:/, as configured).
type dataPlane struct {
	c         *kservetest.Cluster
	artifacts string

	mu     sync.Mutex
	models map[string]*mlmodel.Model // by storageUri
}

func (p *dataPlane) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Host != "" { // as an HTTP proxy, for a URL the real controller published
		obj, err := p.c.ServiceForHost(r.Context(), r.URL.Host)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		r.URL.Path = "/" + obj.GetNamespace() + "/" + obj.GetName() + r.URL.Path
	}
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/"), "/")
	if len(parts) != 5 || parts[2] != "v1" || parts[3] != "models" || !strings.HasSuffix(parts[4], ":predict") {
		http.NotFound(w, r)
		return
	}
	m, err := p.model(r.Context(), parts[0], parts[1])
	if err != nil {
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	var req struct{ Instances []any }
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	rows, err := m.Features(req.Instances)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	preds, err := m.Predict(rows)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"predictions": preds})
}

func (p *dataPlane) model(ctx context.Context, ns, name string) (*mlmodel.Model, error) {
	obj, err := p.c.Dyn.Resource(kservetest.ISVC).Namespace(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	uri := nested(obj, "spec", "predictor", "model", "storageUri")
	rest, ok := strings.CutPrefix(uri, "s3://models/")
	if !ok {
		return nil, fmt.Errorf("storageUri %q is not under s3://models/", uri)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if m := p.models[uri]; m != nil {
		return m, nil
	}
	m, err := mlmodel.Load(filepath.Join(p.artifacts, filepath.FromSlash(rest)))
	if err != nil {
		return nil, err
	}
	p.models[uri] = m
	return m, nil
}

// revisionExporter plays Knative's revision_app_request_* metrics (the
// "knative" family) for every ready revision of one InferenceService: 200
// requests a second from the revision's creation, 0.5% of them 5xx — 20%
// for version 3 — and the same latency histogram for all.
type revisionExporter struct {
	c               *kservetest.Cluster
	namespace, name string

	mu         sync.Mutex
	faultSince map[string]time.Time // version -> when it began failing 30% of requests
}

// fail makes version's revisions fail 30% of their requests from now on:
// a regression after the rollout.
func (e *revisionExporter) fail(version string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.faultSince == nil {
		e.faultSince = map[string]time.Time{}
	}
	e.faultSince[version] = time.Now()
}

// errors is how many of a revision's requests failed by now: 0.5%, 20%
// for version 3, and 30% of those since a fault.
func (e *revisionExporter) errors(rev kservetest.Revision, total float64) float64 {
	e.mu.Lock()
	since, faulty := e.faultSince[rev.Version]
	e.mu.Unlock()
	share := 0.005
	if rev.Version == "3" {
		share = 0.2
	}
	n := total * share
	if faulty {
		n += 200 * 0.3 * time.Since(since).Seconds()
	}
	return n
}

func (e *revisionExporter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	les := []string{"10", "25", "50", "100", "+Inf"}
	shares := []float64{0.3, 0.8, 0.95, 1, 1} // cumulative share of requests per bucket
	var b strings.Builder
	for _, rev := range e.c.Revisions(e.namespace, e.name) {
		if !rev.Ready {
			continue
		}
		total := 200 * time.Since(rev.Created).Seconds()
		failed := e.errors(rev, total)
		for code, n := range map[string]float64{"200": total - failed, "500": failed} {
			lbl := fmt.Sprintf(`namespace_name=%q,revision_name=%q,service_name="%s-predictor",response_code=%q,response_code_class="%cxx"`, e.namespace, rev.Name, e.name, code, code[0])
			fmt.Fprintf(&b, "revision_app_request_count{%s} %g\n", lbl, n)
			for i, le := range les {
				fmt.Fprintf(&b, "revision_app_request_latencies_bucket{%s,le=%q} %g\n", lbl, le, n*shares[i])
			}
			fmt.Fprintf(&b, "revision_app_request_latencies_sum{%s} %g\n", lbl, n*20)
			fmt.Fprintf(&b, "revision_app_request_latencies_count{%s} %g\n", lbl, n)
		}
	}
	fmt.Fprint(w, b.String())
}

// TestBakeOnKServe: a regression after the rollout on KServe (KServe's real
// controller with the Knative Service stand-in, Prometheus scraping the
// revision's series, the binary as separate processes) fires the error-rate
// alert during the bake, and production goes back to the previous version
// with a post-mortem bundle.
func TestBakeOnKServe(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a canary window and a bake against a test API server")
	}
	c, err := kservetest.StartReal(kservetest.RealOptions{})
	kservetest.Check(t, err)
	t.Cleanup(func() { _ = c.Stop() })
	exp := &revisionExporter{namespace: "mlops", name: "demand-forecast"}
	w, _, proxy := kserveWorldOn(t, c, exp, `bake: {duration: 10m, first_hour: 10m}
alerts: {for: 3s, min_requests: 20}
`)
	r := newRealRunner(t, w, proxy)
	w.registerApproved(t, "2")
	r.must(t, 0, "deploy", "demand-forecast", "--version", "1")
	var promote struct{ State string }
	if err := json.Unmarshal([]byte(r.must(t, 0, "promote", "demand-forecast", "--version", "2", "-o", "json")), &promote); err != nil {
		t.Fatal(err)
	}
	if promote.State != "baking" {
		t.Fatalf("promote's state %q, want baking", promote.State)
	}
	mustServe(t, c, w, "2")

	exp.fail("2")
	var res struct{ Promotion modelgate.Promotion }
	if err := json.Unmarshal([]byte(r.must(t, 3, "bake", "demand-forecast", "--watch", "-o", "json")), &res); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.Join(res.Promotion.Reasons, " "), "an alert fired (ModelErrorRateHigh)") {
		t.Fatalf("reasons %q", res.Promotion.Reasons)
	}
	mustServe(t, c, w, "1")
	if bundles, _ := filepath.Glob(filepath.Join(w.dir, ".modelgate", "postmortems", "*.tar.gz")); len(bundles) != 1 {
		t.Fatalf("post-mortem archives: %v", bundles)
	}
}
