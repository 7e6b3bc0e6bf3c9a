package main

import (
	"context"
	"errors"
	"log/slog"
	"strings"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/gateway"
	"github.com/modelgate/modelgate/mlmodel"
)

// mlflowPythonKey is the configuration key naming the Python that serves
// the flavors modelgate does not serve natively.
const mlflowPythonKey = "platform.mlflow_python"

// mlflowServeCommand is the argv that starts MLflow's scoring server for
// one model directory with python: `mlflow models serve` in that Python's
// own environment (--env-manager local: no per-model virtualenv is built),
// one uvicorn worker, on the loopback port the gateway chose.
func mlflowServeCommand(python string) []string {
	return []string{python, "-m", "mlflow", "models", "serve", "-m", "{model_dir}",
		"-h", "127.0.0.1", "-p", "{port}", "--env-manager", "local", "-w", "1"}
}

// withMLflowServer makes the gateway serve a version whose flavor mlmodel
// refuses as not native (mlmodel.ErrNotNative: a scikit-learn API
// LightGBM model, an sklearn or any other flavor) with MLflow's own
// scoring server, started with python and measured like a native model.
// With python "" such a version is refused, naming the key to set. Other
// load errors, and models of platform.external, are left as they are.
func withMLflowServer(python string, logger *slog.Logger) func(*gateway.Options) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return func(o *gateway.Options) {
		native := o.DeploymentLoader
		o.DeploymentLoader = func(d modelgate.Deployment) (gateway.Model, error) {
			m, err := native(d)
			if err == nil || !errors.Is(err, mlmodel.ErrNotNative) {
				return m, err
			}
			if python == "" {
				return nil, &modelgate.Error{Code: modelgate.EINVALID, Message: modelgate.ErrorMessage(err), Err: err,
					Hint: "to serve it with MLflow's scoring server, set " + mlflowPythonKey + " to a Python with mlflow installed, e.g. /opt/mlflow-venv/bin/python"}
			}
			spec := gateway.UpstreamSpec{Command: mlflowServeCommand(python), Protocol: gateway.UpstreamMLflow, Logger: logger}
			u, err := gateway.StartUpstream(context.Background(), spec, d)
			if err != nil {
				return nil, &modelgate.Error{Code: modelgate.ErrorCode(err), Err: err,
					Message: "MLflow's scoring server (" + strings.Join(spec.Command[:5], " ") + ", " + mlflowPythonKey + ") did not start: " + modelgate.ErrorMessage(err)}
			}
			return u, nil
		}
	}
}

// mlflowPython is platform.mlflow_python, a path relative to the
// configuration file when it names a directory, else a command on PATH.
func (c *Config) mlflowPython() string {
	if p := c.Platform.MLflowPython; strings.Contains(p, "/") {
		return c.path(p)
	}
	return c.Platform.MLflowPython
}
