package smoke_test

import (
	"context"
	"encoding/json"
	"math"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/gateway"
	"github.com/modelgate/modelgate/mlmodel"
	"github.com/modelgate/modelgate/smoke"
)

const example = "../examples/demand-forecast"

// loggedMetrics reads the generator's metrics of version v ("v1", "v2", …).
func loggedMetrics(t testing.TB, v string) map[string]float64 {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(example, "models", "metrics.json"))
	if err != nil {
		t.Fatal(err)
	}
	var all map[string]map[string]float64
	if err := json.Unmarshal(b, &all); err != nil {
		t.Fatal(err)
	}
	return all[v]
}

// nativeGateway serves the example's versions on an in-process gateway:
// stable (production) and staging; "" leaves an environment empty.
func nativeGateway(t testing.TB, stable, staging string) (*gateway.Deployer, modelgate.Endpoint) {
	t.Helper()
	srv := gateway.NewServer(gateway.Options{Loader: func(dir string) (gateway.Model, error) { return mlmodel.Load(dir) }})
	if err := srv.Open(); err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(func() { hs.Close(); _ = srv.Close() })
	d := gateway.NewDeployer(hs.URL, nil)
	ctx := context.Background()
	if stable != "" {
		if err := d.SetStable(ctx, deployment(t, stable)); err != nil {
			t.Fatal(err)
		}
	}
	var ep modelgate.Endpoint
	if staging != "" {
		var err error
		if ep, err = d.DeployStaging(ctx, deployment(t, staging), 0); err != nil {
			t.Fatal(err)
		}
	}
	return d, ep
}

func deployment(t testing.TB, v string) modelgate.Deployment {
	dir, err := filepath.Abs(filepath.Join(example, "models", "v"+v))
	if err != nil {
		t.Fatal(err)
	}
	digest, err := modelgate.DirDigest(dir) // the gateway serves only the bytes a deployment's digest names
	if err != nil {
		t.Fatal(err)
	}
	return modelgate.Deployment{Model: "demand-forecast", Version: v, ModelDir: dir, Digest: digest}
}

func candidate(t testing.TB, v string) modelgate.Candidate {
	return modelgate.Candidate{
		Version: &modelgate.ModelVersion{Name: "demand-forecast", Version: v},
		Dir:     deployment(t, v).ModelDir, Metrics: loggedMetrics(t, "v"+v),
	}
}

// checkReproduces fails unless every logged metric is reproduced within a
// relative 1e-6.
func checkReproduces(t *testing.T, r modelgate.GateResult, logged map[string]float64) smoke.EvaluationEvidence {
	t.Helper()
	if !r.Passed {
		t.Fatalf("evaluation failed: %v", r.Failures)
	}
	ev, err := smoke.EvaluationOf(r)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range logged {
		got := ev.Metrics[name]
		if rel := math.Abs(got-want) / math.Abs(want); !(rel <= 1e-6) {
			t.Errorf("%s = %.17g, logged %.17g (relative difference %.3g)", name, got, want, rel)
		}
	}
	t.Logf("%s over %s: %d rows in %.3fs = %.0f rows/s", ev.Dataset, ev.Protocol, ev.Rows, ev.Seconds, ev.RowsPerSecond)
	return ev
}

func TestEvaluation_ReproducesLoggedMetrics_NativeGateway(t *testing.T) {
	_, ep := nativeGateway(t, "", "2")
	for _, proto := range []string{"v1", "v2"} {
		t.Run(proto, func(t *testing.T) {
			g := &smoke.Evaluation{Dataset: filepath.Join(example, "data", "ground_truth.csv"), Protocol: proto, Segment: "store_id"}
			r, err := g.Check(context.Background(), ep, candidate(t, "2"))
			if err != nil {
				t.Fatal(err)
			}
			ev := checkReproduces(t, r, loggedMetrics(t, "v2"))
			if len(ev.Segments) != 40 || len(smoke.SegmentNames(ev.Segments)) != 40 || !strings.Contains(r.Summary, "worst store_id") {
				t.Errorf("segments: %d, summary %q", len(ev.Segments), r.Summary)
			}
		})
	}
}

func TestEvaluation_ComparesWithProduction(t *testing.T) {
	d, ep := nativeGateway(t, "1", "2")
	g := &smoke.Evaluation{Dataset: filepath.Join(example, "data", "ground_truth.csv"), Production: d}
	r, err := g.Check(context.Background(), ep, candidate(t, "2"))
	if err != nil || !r.Passed {
		t.Fatalf("v2 against production v1: %v %v", err, r.Failures)
	}
	ev, err := smoke.EvaluationOf(r)
	if err != nil {
		t.Fatal(err)
	}
	prod := ev.Production
	if prod == nil || prod.Version != "1" || math.Abs(prod.Metrics["mae"]-loggedMetrics(t, "v1")["mae"]) > 1e-9 {
		t.Fatalf("production result %+v", prod)
	}

	// v1 as the candidate against v2 in production: worse than production.
	d, ep = nativeGateway(t, "2", "1")
	g.Production = d
	c := candidate(t, "1")
	r, err = g.Check(context.Background(), ep, c)
	if err != nil {
		t.Fatal(err)
	}
	msg := strings.Join(r.Failures, "\n")
	if r.Passed || !strings.Contains(msg, "evaluation mae vs production version 2 failed: expected ≤ 14.5896") || !strings.Contains(msg, "observed 19.1524") {
		t.Fatalf("v1 against production v2 passed or said: %s", msg)
	}
}

// TestEvaluation_AccuracyBelowLogged: a purpose-built endpoint whose
// predictions are worse than the training run's.
func TestEvaluation_AccuracyBelowLogged(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gt.csv")
	if err := os.WriteFile(path, []byte("store_id,date,units_sold\n1,2024-01-01,10\n2,2024-01-02,20\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, proto := range []string{"v1", "v2"} {
		ep := badServer{answer: values("12", "FP64", 0)}.start(t) // errors 2 and 8: mae 5, wape 10/30
		g := &smoke.Evaluation{Dataset: path, Protocol: proto}
		r, err := g.Check(context.Background(), ep, modelgate.Candidate{Metrics: map[string]float64{"mae": 5, "r2": -1.56}})
		if err != nil || !r.Passed {
			t.Fatalf("%s matching metrics: %v %v", proto, err, r.Failures)
		}
		r, err = g.Check(context.Background(), ep, modelgate.Candidate{Metrics: map[string]float64{"mae": 4, "r2": 0.5}})
		msg := strings.Join(r.Failures, "\n")
		if err != nil || r.Passed || !strings.Contains(msg, "evaluation mae vs logged failed: expected ≤ 4.04 (logged 4 + 1%), observed 5") ||
			!strings.Contains(msg, "evaluation r2 vs logged failed: expected ≥ 0.495") {
			t.Fatalf("%s worse metrics: %v\n%s", proto, err, msg)
		}
	}
	m := smoke.Metrics([]float64{10, 20}, []float64{12, 12})
	if m["wape"] != 10.0/30 || m["bias"] != -3 || math.Abs(m["r2"]-(1-68.0/50)) > 1e-12 {
		t.Fatalf("metrics = %v", m)
	}
}

func TestEvaluation_BadAnswersAreErrors(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gt.csv")
	if err := os.WriteFile(path, []byte("x,units_sold\n1,10\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string]badServer{
		"5xx": {status: 503}, "NaN": {answer: values("NaN", "FP64", 0)}, "WrongShape": {answer: values("1", "FP64", 1)},
	} {
		_, err := (&smoke.Evaluation{Dataset: path}).Check(context.Background(), b.start(t), modelgate.Candidate{})
		if err == nil || !strings.Contains(err.Error(), "expected") {
			t.Errorf("%s: err = %v", name, err)
		}
	}
}

func TestClassificationMetrics(t *testing.T) {
	m := smoke.ClassificationMetrics([]float64{0, 0, 1, 1}, []float64{0.1, 0.6, 0.4, 0.9}, 0.5)
	if m["accuracy"] != 0.5 || m["f1"] != 0.5 || m["auc"] != 0.75 {
		t.Fatalf("metrics = %v", m)
	}
}

type gtRow struct {
	StoreID   int64   `parquet:"store_id"`
	Date      string  `parquet:"date"`
	Promo     int64   `parquet:"promo"`
	UnitsSold float64 `parquet:"units_sold"`
}

// TestEvaluation_ParquetArtifact: the ground truth as Parquet, stored in the
// version's artifact, gives the same metrics as the CSV.
func TestEvaluation_ParquetArtifact(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(example, "data", "ground_truth.csv"))
	if err != nil {
		t.Fatal(err)
	}
	var rows []gtRow
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n")[1:] {
		var r gtRow
		f := strings.Split(line, ",")
		_ = json.Unmarshal([]byte(f[0]), &r.StoreID)
		_ = json.Unmarshal([]byte(f[2]), &r.Promo)
		_ = json.Unmarshal([]byte(f[3]), &r.UnitsSold)
		r.Date = f[1]
		rows = append(rows, r)
	}
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "eval"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := parquet.WriteFile(filepath.Join(dir, "eval", "gt.parquet"), rows); err != nil {
		t.Fatal(err)
	}
	_, ep := nativeGateway(t, "", "2")
	c := candidate(t, "2")
	c.Dir = dir
	r, err := (&smoke.Evaluation{Dataset: "artifact:eval/gt.parquet", Protocol: "v2"}).Check(context.Background(), ep, c)
	if err != nil {
		t.Fatal(err)
	}
	checkReproduces(t, r, loggedMetrics(t, "v2"))
	if _, err := (&smoke.Evaluation{Dataset: "artifact:../x.csv"}).Check(context.Background(), ep, c); err == nil {
		t.Fatal("an artifact path outside the model directory was accepted")
	}
}

func TestRequests_GeneratedFromInputExample_NativeGateway(t *testing.T) {
	_, ep := nativeGateway(t, "", "2")
	g := &smoke.Requests{Count: 20, Warmup: 2, Protocols: []string{"v1", "v2"}, Spec: smoke.ReadSpec, Min: ptr(0), Max: ptr(10000)}
	r, err := g.Check(context.Background(), ep, candidate(t, "2"))
	if err != nil || !r.Passed {
		t.Fatalf("%v %v", err, r.Failures)
	}
	ev, err := smoke.RequestsOf(r)
	if err != nil {
		t.Fatal(err)
	}
	if !ev.Generated || !strings.Contains(ev.Example, `"shape":[5]`) {
		t.Fatalf("generated %v, example %s", ev.Generated, ev.Example)
	}
	t.Log(r.Summary)
}

func TestRequests_PlaybookRequest_NativeGateway(t *testing.T) {
	_, ep := nativeGateway(t, "", "2")
	g := &smoke.Requests{Bodies: []json.RawMessage{json.RawMessage(smoke.PlaybookRequest)}, Count: 10, Protocols: []string{"v1", "v2"}}
	if r, err := g.Check(context.Background(), ep, candidate(t, "2")); err != nil || !r.Passed {
		t.Fatalf("%v %v", err, r.Failures)
	}
}
