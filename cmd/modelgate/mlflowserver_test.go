package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/gateway"
)

// sklearnMLmodel is an MLmodel of a flavor modelgate does not serve
// natively; nothing loads its data file before MLflow's server would.
const sklearnMLmodel = `flavors:
  python_function: {loader_module: mlflow.sklearn, model_path: model.pkl}
  sklearn: {pickled_model: model.pkl, serialization_format: cloudpickle, sklearn_version: 1.5.0}
mlflow_version: 3.17.2
`

// startFlavorGateway serves a gateway with withMLflowServer(python) and
// returns a deployer for it, the native test model deployed as version 1
// of "m" at 100%, and a non-native version 2.
func startFlavorGateway(t *testing.T, python string) (*gateway.Deployer, modelgate.Deployment) {
	t.Helper()
	native, err := filepath.Abs(filepath.Join("..", "..", "mlmodel", "testdata", "every-op"))
	if err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(t.TempDir(), "sklearn")
	if err := os.MkdirAll(other, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(other, "MLmodel"), []byte(sklearnMLmodel), 0o644); err != nil {
		t.Fatal(err)
	}
	const token = "test-admin-token"
	srv := newGateway(filepath.Join(t.TempDir(), "gateway.json"), nil, nil, nil, withAdminToken(token, ""), withMLflowServer(python, nil))
	if err := srv.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	data, admin, stop, err := startLocalGateway(context.Background(), srv)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	d := gateway.NewDeployerFor(gateway.Endpoints{URL: "http://" + data, AdminURL: "http://" + admin, AdminToken: token})
	if err := d.SetStable(context.Background(), modelgate.Deployment{Model: "m", Version: "1", ModelDir: native, Digest: mustDigest(t, native)}); err != nil {
		t.Fatal(err)
	}
	return d, modelgate.Deployment{Model: "m", Version: "2", ModelDir: other, Digest: mustDigest(t, other)}
}

// wantUnchanged checks the gateway still serves version 1 alone.
func wantUnchanged(t *testing.T, d *gateway.Deployer) {
	t.Helper()
	st, err := d.Status(context.Background(), "m")
	if err != nil {
		t.Fatal(err)
	}
	if st.Traffic.Stable != "1" || st.Traffic.Canary != "" || st.Staging != "" {
		t.Errorf("the gateway changed: %+v", st)
	}
}

func TestMLflowServer_NoPython(t *testing.T) {
	d, v2 := startFlavorGateway(t, "")
	for name, deploy := range map[string]func() error{
		"Staging": func() error { _, err := d.DeployStaging(context.Background(), v2, 5*time.Second); return err },
		"Canary":  func() error { return d.StartCanary(context.Background(), v2, 10) },
	} {
		t.Run(name, func(t *testing.T) {
			err := deploy()
			msg := modelgate.ErrorMessage(err)
			for _, want := range []string{"model flavor sklearn is not supported natively", "set platform.mlflow_python to a Python with mlflow installed"} {
				if !strings.Contains(msg, want) {
					t.Errorf("error %q lacks %q", msg, want)
				}
			}
			if modelgate.ErrorCode(err) != modelgate.EINVALID {
				t.Errorf("code %s, want EINVALID", modelgate.ErrorCode(err))
			}
			wantUnchanged(t, d)
		})
	}
}

// TestMLflowServer_FailsToStart gives a "Python" that fails as a Python
// without mlflow does: the error carries its output, and the gateway
// serves what it served.
func TestMLflowServer_FailsToStart(t *testing.T) {
	python := filepath.Join(t.TempDir(), "python")
	script := "#!/bin/sh\necho \"$@\" >&2\necho 'No module named mlflow' >&2\nexit 1\n"
	if err := os.WriteFile(python, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	d, v2 := startFlavorGateway(t, python)
	err := d.StartCanary(context.Background(), v2, 10)
	msg := modelgate.ErrorMessage(err)
	for _, want := range []string{"MLflow's scoring server (" + python + " -m mlflow models serve, platform.mlflow_python) did not start",
		"No module named mlflow", "-m mlflow models serve -m " + v2.ModelDir + " -h 127.0.0.1 -p "} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q lacks %q", msg, want)
		}
	}
	wantUnchanged(t, d)
}
