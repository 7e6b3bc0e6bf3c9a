package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/kserve"
	"github.com/modelgate/modelgate/kserve/kservetest"
	promsrc "github.com/modelgate/modelgate/prometheus"
	"github.com/modelgate/modelgate/prometheus/prometheustest"
)

// TestPromoteOnRealKServe_Raw is TestPromoteOnKServe in RawDeployment
// mode (platform.deployment_mode raw): KServe's real controller creates the
// predictor Deployments and decides every InferenceService's status,
// modelgate runs the canary as demand-forecast-canary behind its HTTPRoute
// (the gateway stand-in writing the route's status), and Prometheus reads
// Istio's series by Deployment (metrics.family istio-raw, played by
// workloadExporter). Through the binary as separate processes: `deploy`
// seeds v1; `promote` of v2 is SIGKILLed in the middle of its canary window
// and `promote --resume` finishes it; `promote` of v3, which errs on 20% of
// requests, is rolled back (exit 3).
func TestPromoteOnRealKServe_Raw(t *testing.T) {
	if testing.Short() {
		t.Skip("runs canary windows against KServe's real controller")
	}
	c, err := kservetest.StartReal(kservetest.RealOptions{})
	kservetest.Check(t, err)
	t.Cleanup(func() { _ = c.Stop() })
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go kservetest.NewGateway(c.Dyn).Run(ctx)

	exp := &workloadExporter{c: c, namespace: "mlops", name: "demand-forecast"}
	w, _, proxy := kserveWorldOn(t, c, &revisionExporter{namespace: "mlops", name: "demand-forecast"}, "bake: {duration: 0s}\n")
	rawConfig(t, w, exp)
	r := newRealRunner(t, w, proxy)

	w.registerApproved(t, "2", "3")
	r.must(t, 0, "deploy", "demand-forecast", "--version", "1")
	mustServeRaw(t, c, w, "1")

	r.killMidWindow(t, "promote", "demand-forecast", "--version", "2")
	if out := r.must(t, 0, "promote", "demand-forecast", "--resume"); !strings.Contains(out, "PROMOTED") {
		t.Fatalf("promote --resume after SIGKILL: %s", out)
	}
	mustServeRaw(t, c, w, "2")

	var res struct{ Promotion modelgate.Promotion }
	if err := json.Unmarshal([]byte(r.must(t, 3, "promote", "demand-forecast", "--version", "3", "-o", "json")), &res); err != nil {
		t.Fatal(err)
	}
	if res.Promotion.Outcome != modelgate.OutcomeRolledBack || !strings.Contains(strings.Join(res.Promotion.Reasons, " "), "error_rate") {
		t.Fatalf("v3: outcome %s, reasons %q; want rolled_back naming error_rate", res.Promotion.Outcome, res.Promotion.Reasons)
	}
	mustServeRaw(t, c, w, "2")
	r.must(t, 0, "audit", "verify", filepath.Join(w.dir, ".modelgate", "audit.jsonl"))
}

// rawConfig turns w's configuration to raw mode, with Prometheus scraping
// exp (Istio's series by Deployment) instead of the Knative revisions'.
func rawConfig(t *testing.T, w *cliWorld, exp *workloadExporter) {
	t.Helper()
	b, err := os.ReadFile(w.config)
	if err != nil {
		t.Fatal(err)
	}
	cfg := strings.Replace(string(b), "  model_format: lightgbm\n",
		"  model_format: lightgbm\n  deployment_mode: raw\n  route: {gateway: gateway-system/public, hostnames: [models.example.com]}\n", 1)
	metrics := regexp.MustCompile(`(?m)^metrics: \{type: prometheus, url: \S+, family: knative\}$`)
	if !strings.Contains(cfg, "deployment_mode: raw") || !metrics.MatchString(cfg) {
		t.Fatalf("the configuration changed shape:\n%s", cfg)
	}
	cfg = metrics.ReplaceAllLiteralString(cfg, "metrics: {type: prometheus, url: "+exp.serve(t)+", family: istio-raw}")
	if err := os.WriteFile(w.config, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
}

// mustServeRaw checks production as the API server holds it: the stable
// InferenceService is version's spec, the route sends it everything, and no
// candidate is left.
func mustServeRaw(t *testing.T, c *kservetest.Cluster, w *cliWorld, version string) {
	t.Helper()
	ctx := context.Background()
	obj, err := c.Dyn.Resource(kservetest.ISVC).Namespace("mlops").Get(ctx, "demand-forecast", metav1.GetOptions{})
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
	if mode := nested(obj, "status", "deploymentMode"); mode != "Standard" {
		t.Errorf("status.deploymentMode %q, want Standard", mode)
	}
	route, err := c.Dyn.Resource(kservetest.HTTPRoute).Namespace("mlops").Get(ctx, "demand-forecast-modelgate", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rules, _, _ := unstructured.NestedSlice(route.Object, "spec", "rules")
	refs, _, _ := unstructured.NestedSlice(rules[0].(map[string]any), "backendRefs")
	if len(refs) != 1 || refs[0].(map[string]any)["name"] != "demand-forecast-predictor" {
		t.Errorf("route backends %v, want demand-forecast-predictor alone", refs)
	}
	if canary, err := c.Dyn.Resource(kservetest.ISVC).Namespace("mlops").Get(ctx, kserve.CanaryName("demand-forecast"), metav1.GetOptions{}); err == nil && canary.GetDeletionTimestamp() == nil {
		t.Error("the candidate InferenceService is left")
	}
}

var deploymentsResource = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}

// workloadExporter plays Istio's destination-side metrics (the istio-raw
// family) for the predictor Deployments of one InferenceService and its
// candidate while each exists: 200 requests a second, 0.5% of them 5xx —
// 20% while the Deployment runs version 3 — and the same latency
// histogram for all. Counters only grow, as the version a Deployment runs
// changes under the same series.
type workloadExporter struct {
	c               *kservetest.Cluster
	namespace, name string

	mu     sync.Mutex
	series map[string]*workloadCount // by Deployment
}

type workloadCount struct {
	total, failed float64
	last          time.Time
}

// serve starts the exporter and a real Prometheus scraping it, with the
// model's alert rules on the istio-raw series, and returns Prometheus's URL.
func (e *workloadExporter) serve(t *testing.T) string {
	t.Helper()
	e.series = map[string]*workloadCount{}
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	m, err := promsrc.MetricsFor("istio-raw", promsrc.Metrics{})
	if err != nil {
		t.Fatal(err)
	}
	target := promsrc.RuleTarget{Model: e.name, Version: "1", Service: e.name, Namespace: e.namespace, Revisions: kserve.PredictorName(e.name)}
	rules, err := m.Rules(target, promsrc.RuleOptions{}).YAML()
	if err != nil {
		t.Fatal(err)
	}
	return prometheustest.StartWithRules(t, strings.TrimPrefix(srv.URL, "http://"), rules)
}

// advance adds the requests each live predictor Deployment served since
// the last scrape.
func (e *workloadExporter) advance(ctx context.Context) error {
	list, err := e.c.Dyn.Resource(deploymentsResource).Namespace(e.namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	now := time.Now()
	for _, d := range list.Items {
		isvc := d.GetLabels()["serving.kserve.io/inferenceservice"]
		if isvc != e.name && isvc != kserve.CanaryName(e.name) {
			continue
		}
		if _, err := e.c.Dyn.Resource(kservetest.ISVC).Namespace(e.namespace).Get(ctx, isvc, metav1.GetOptions{}); err != nil {
			continue // the candidate is gone: its Deployment serves nothing
		}
		version, _, _ := unstructured.NestedString(d.Object, "spec", "template", "metadata", "labels", kserve.LabelVersion)
		s := e.series[d.GetName()]
		if s == nil {
			s = &workloadCount{last: now}
			e.series[d.GetName()] = s
		}
		n := 200 * now.Sub(s.last).Seconds()
		share := 0.005
		if version == "3" {
			share = 0.2
		}
		s.total, s.failed, s.last = s.total+n, s.failed+n*share, now
	}
	return nil
}

func (e *workloadExporter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.advance(r.Context()); err != nil {
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	les := []string{"10", "25", "50", "100", "+Inf"}
	shares := []float64{0.3, 0.8, 0.95, 1, 1}
	var b strings.Builder
	for workload, s := range e.series {
		for code, n := range map[string]float64{"200": s.total - s.failed, "500": s.failed} {
			lbl := fmt.Sprintf(`reporter="destination",destination_workload=%q,destination_workload_namespace=%q,response_code=%q`, workload, e.namespace, code)
			fmt.Fprintf(&b, "istio_requests_total{%s} %g\n", lbl, n)
			for i, le := range les {
				fmt.Fprintf(&b, "istio_request_duration_milliseconds_bucket{%s,le=%q} %g\n", lbl, le, n*shares[i])
			}
			fmt.Fprintf(&b, "istio_request_duration_milliseconds_sum{%s} %g\n", lbl, n*20)
			fmt.Fprintf(&b, "istio_request_duration_milliseconds_count{%s} %g\n", lbl, n)
		}
	}
	fmt.Fprint(w, b.String())
}
