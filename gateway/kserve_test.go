package gateway_test

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/modelgate/modelgate"
	kserveserver "github.com/modelgate/modelgate/examples/kserve-server"
	"github.com/modelgate/modelgate/gateway"
	"github.com/modelgate/modelgate/mlmodel"
	"github.com/modelgate/modelgate/smoke"
)

// TestKServe_GatewayProxies serves the example's v2 through the gateway,
// proxied to the KServe Python model server (LightGBM in Python), and
// checks the evaluation through the gateway reproduces the generator's
// metrics over V1 and V2 and that production is measured per revision,
// features included.
func TestKServe_GatewayProxies(t *testing.T) {
	py := kserveserver.Python(t)
	example, _ := filepath.Abs("../examples/demand-forecast")
	dep := modelgate.Deployment{Model: "demand-forecast", Version: "2", ModelDir: filepath.Join(example, "models", "v2")}
	var err error
	if dep.Digest, err = modelgate.DirDigest(dep.ModelDir); err != nil {
		t.Fatal(err)
	}
	for _, proto := range []string{"v1", "v2"} {
		t.Run("upstream-"+proto, func(t *testing.T) {
			_, base, _ := upstreamGateway(t, func(d modelgate.Deployment) gateway.UpstreamSpec {
				local, err := mlmodel.Load(d.ModelDir)
				if err != nil {
					t.Fatal(err)
				}
				return gateway.UpstreamSpec{Command: kserveserver.Command(py, d.ModelDir, d.Model), Protocol: proto, Features: local, ReadyTimeout: 2 * time.Minute}
			})
			ctx := context.Background()
			d := gateway.NewDeployer(base, nil)
			ep, err := d.DeployStaging(ctx, dep, 2*time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			logged := metricsOf(t, example, "v2")
			for _, client := range []string{"v1", "v2"} {
				g := &smoke.Evaluation{Dataset: filepath.Join(example, "data", "ground_truth.csv"), Protocol: client}
				r, err := g.Check(ctx, ep, modelgate.Candidate{Metrics: logged})
				if err != nil || !r.Passed {
					t.Fatalf("evaluation over %s: %v %v", client, err, r.Failures)
				}
				ev, err := smoke.EvaluationOf(r)
				if err != nil {
					t.Fatal(err)
				}
				for name, want := range logged {
					if rel := math.Abs(ev.Metrics[name]-want) / math.Abs(want); !(rel <= 1e-6) {
						t.Errorf("%s = %.17g, logged %.17g", name, ev.Metrics[name], want)
					}
				}
				t.Logf("gateway (%s) -> KServe (%s): %d rows at %.0f rows/s", client, proto, ev.Rows, ev.RowsPerSecond)
			}
			if err := d.SetStable(ctx, dep); err != nil {
				t.Fatal(err)
			}
			smokeGate := &smoke.Requests{Bodies: []json.RawMessage{json.RawMessage(smoke.PlaybookRequest)}, Count: 20, Warmup: 2, Protocols: []string{"v1", "v2"}}
			if r, err := smokeGate.Check(ctx, modelgate.Endpoint{URL: base, Name: dep.Model}, modelgate.Candidate{}); err != nil || !r.Passed {
				t.Fatalf("smoke through the gateway: %v %v", err, r.Failures)
			}
			w, err := gateway.NewMetricsSource(base, nil).Observe(ctx, dep.Model)
			if err != nil {
				t.Fatal(err)
			}
			if w.Stable.Version != "2" || w.Stable.Requests != 44 || w.Stable.Errors != 0 || w.Stable.Predictions.Count != 44 ||
				w.Stable.Features["day_of_year"].Count != 44 || math.Abs(w.Stable.Predictions.Mean()-127.74721110558039) > 1e-9 {
				t.Fatalf("production measurement %+v", w.Stable)
			}
		})
	}
}

func metricsOf(t *testing.T, example, v string) map[string]float64 {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(example, "models", "metrics.json"))
	if err != nil {
		t.Fatal(err)
	}
	var all map[string]map[string]float64
	if err := json.NewDecoder(strings.NewReader(string(b))).Decode(&all); err != nil {
		t.Fatal(err)
	}
	return all[v]
}
