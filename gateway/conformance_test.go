package gateway_test

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/gateway"
	"github.com/modelgate/modelgate/mlmodel"
	"github.com/modelgate/modelgate/modelgatetest"
	"github.com/modelgate/modelgate/smoke"
)

// TestDeployerConformance runs the deployer suite against a gateway serving
// the example's real LightGBM models, driven through its admin API; a
// prediction at each endpoint says which version answers, and Status (with
// when the split was set, on the real clock so a restarted window shows)
// must survive a repeated call.
func TestDeployerConformance(t *testing.T) {
	e := newTestEnv(t, func(o *gateway.Options) {
		o.Loader = func(dir string) (gateway.Model, error) { return mlmodel.Load(dir) }
		o.Now = time.Now
	})
	d := e.dep
	modelgatetest.TestDeployer(t, func(t *testing.T) modelgatetest.DeployerSubject {
		return modelgatetest.DeployerSubject{
			Deployer:   d,
			Deployment: exampleDeployment,
			Serves: func(ctx context.Context, ep modelgate.Endpoint) (string, error) {
				return modelgatetest.ServedVersion(ctx, ep, smoke.PlaybookRequest, gateway.HeaderModelVersion)
			},
			State: func(ctx context.Context, model string) (any, error) { return d.Status(ctx, model) },
		}
	})
}

// exampleDeployment serves the example's model directory models/v<version>
// under its verified digest.
func exampleDeployment(t *testing.T, model, version string) modelgate.Deployment {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "examples", "demand-forecast", "models", "v"+version))
	if err != nil {
		t.Fatal(err)
	}
	digest, err := modelgate.DirDigest(dir)
	if err != nil {
		t.Fatal(err)
	}
	return modelgate.Deployment{Model: model, Version: version, ModelDir: dir, Digest: digest}
}

// TestMetricsSourceConformance runs the metrics source suite against the
// gateway measuring itself: fake models whose latency is how far they move
// the fake clock, and requests routed to the stable or canary revision at
// will.
func TestMetricsSourceConformance(t *testing.T) {
	modelgatetest.TestMetricsSource(t, func(t *testing.T) modelgatetest.MetricsSubject {
		p := &measuredGateway{models: map[string]*fakeModel{}}
		p.e = newTestEnv(t, routed(&p.toCanary))
		return modelgatetest.MetricsSubject{Source: p.e.metrics, Model: "iris", SetSplit: p.setSplit, Send: p.send, Predictions: true}
	})
}

// measuredGateway serves the suite's traffic through a gateway's handler.
type measuredGateway struct {
	e        *testEnv
	toCanary bool
	models   map[string]*fakeModel // by version
	split    modelgate.TrafficSplit
}

// setSplit serves split, a second after the previous one.
func (p *measuredGateway) setSplit(t *testing.T, split modelgate.TrafficSplit) {
	p.e.clock.Advance(time.Second)
	for _, v := range []string{split.Stable, split.Canary} {
		if v != "" && p.models[v] == nil {
			p.models[v] = p.e.register(v, 1)
			p.models[v].PredictFn = predictOrFail
		}
	}
	p.e.mustSetStable(split.Stable)
	if split.Canary != "" {
		p.e.mustStartCanary(split.Canary, split.CanaryPercent)
	}
	p.split = split
}

// predictOrFail predicts x - y, and fails (a 500) for a negative y.
func predictOrFail(rows [][]float64) ([]float64, error) {
	out := make([]float64, len(rows))
	for i, r := range rows {
		if r[1] < 0 {
			return nil, errString("the model failed")
		}
		out[i] = r[0] - r[1]
	}
	return out, nil
}

func (p *measuredGateway) send(t *testing.T, tr modelgatetest.Traffic) {
	p.toCanary = false
	p.sendArm(t, p.split.Stable, tr.Stable)
	p.toCanary = true
	p.sendArm(t, p.split.Canary, tr.Canary)
}

func (p *measuredGateway) sendArm(t *testing.T, version string, a modelgatetest.Arm) {
	t.Helper()
	if a.OK+a.Errors == 0 {
		return
	}
	p.models[version].Latency = func(int) time.Duration { return a.Latency }
	for i := range a.OK + a.Errors {
		body, status := fmt.Sprintf(`{"instances": [[%v, 0]]}`, a.Prediction), http.StatusOK
		if i >= a.OK {
			body, status = `{"instances": [[1, -1]]}`, http.StatusInternalServerError
		}
		if r := p.e.call(http.MethodPost, "/v1/models/iris:predict", body, nil); r.Status != status || r.Version != version {
			t.Fatalf("request %d to version %s: %+v, want status %d", i, version, r, status)
		}
	}
}
