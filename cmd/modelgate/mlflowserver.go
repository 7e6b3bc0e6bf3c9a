package main

import (
	"context"
	"errors"
	"log/slog"
	"strings"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/gateway"
	"github.com/modelgate/modelgate/mlmodel"
	"github.com/modelgate/modelgate/mlmodelfile"
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
			if cols, err := loggedColumns(d.ModelDir); err == nil && cols != nil {
				spec.Features = cols // names the columns of array instances
			}
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

// columnNames is the Features model of an MLflow-served version: it names
// the logged input columns, so that array instances reach MLflow as a
// DataFrame, and computes no feature rows (features go unmeasured).
type columnNames []string

func (c columnNames) FeatureNames() []string              { return c }
func (c columnNames) Features([]any) ([][]float64, error) { return nil, nil }
func (c columnNames) Predict([][]float64) ([]float64, error) {
	return nil, modelgate.Errorf(modelgate.EINTERNAL, "MLflow's scoring server predicts, not modelgate")
}

// loggedColumns reads the input columns the user logged with the model in
// dir; nil when it logged none.
func loggedColumns(dir string) (gateway.Model, error) {
	ml, err := mlmodelfile.Read(dir)
	if err != nil {
		return nil, err
	}
	names, err := mlmodelfile.LoggedColumns(dir, ml)
	if err != nil || names == nil {
		return nil, err
	}
	return columnNames(names), nil
}
