package smoke_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/modelgate/modelgate"
	kserveserver "github.com/modelgate/modelgate/examples/kserve-server"
	"github.com/modelgate/modelgate/gateway"
	"github.com/modelgate/modelgate/smoke"
)

// kserveEndpoint starts the example KServe Python server on version v of
// the example (with LightGBM, not modelgate's evaluator) and returns its
// endpoint; the server stops when the test ends.
func kserveEndpoint(t *testing.T, v string) modelgate.Endpoint {
	t.Helper()
	py := kserveserver.Python(t)
	d := deployment(t, v)
	u, err := gateway.StartUpstream(context.Background(), gateway.UpstreamSpec{
		Command: kserveserver.Command(py, d.ModelDir, d.Model), ReadyTimeout: 2 * time.Minute,
	}, d)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = u.Close() })
	return modelgate.Endpoint{URL: u.URL(), Name: d.Model}
}

func TestKServe_SmokeAndEvaluation(t *testing.T) {
	ep := kserveEndpoint(t, "2")
	ctx := context.Background()
	t.Run("Smoke", func(t *testing.T) {
		g := &smoke.Requests{Count: 50, Warmup: 5, Protocols: []string{"v1", "v2"}, Spec: smoke.ReadSpec, Min: ptr(0), Max: ptr(10000)}
		r, err := g.Check(ctx, ep, candidate(t, "2"))
		if err != nil || !r.Passed {
			t.Fatalf("generated requests: %v %v", err, r.Failures)
		}
		t.Log(r.Summary)
		g.Bodies = nil
		g.Spec = func(string) (*smoke.ModelSpec, error) { return &smoke.ModelSpec{}, nil } // the playbook's raw-field request
		if r, err = g.Check(ctx, ep, candidate(t, "2")); err != nil || !r.Passed {
			t.Fatalf("playbook request: %v %v", err, r.Failures)
		}
	})
	for _, proto := range []string{"v1", "v2"} {
		t.Run("Evaluation/"+proto, func(t *testing.T) {
			g := &smoke.Evaluation{Dataset: filepath.Join(example, "data", "ground_truth.csv"), Protocol: proto, Segment: "store_id"}
			r, err := g.Check(ctx, ep, candidate(t, "2"))
			if err != nil {
				t.Fatal(err)
			}
			checkReproduces(t, r, loggedMetrics(t, "v2"))
		})
	}
}
