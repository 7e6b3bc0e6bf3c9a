package gateway_test

import (
	"context"
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
