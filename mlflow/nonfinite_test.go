package mlflow_test

import (
	"encoding/json"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelgate/modelgate/mlmodel"
	"github.com/modelgate/modelgate/modelgatetest"
)

// scoreWithMLflow answers a request body with MLflow's own scoring server
// code (mlflow.pyfunc.scoring_server.invocations, what `mlflow models
// serve` runs per request) on a model directory.
const scoreWithMLflow = `
import json, sys
import mlflow
from mlflow.pyfunc.scoring_server import invocations
model = mlflow.pyfunc.load_model(sys.argv[1])
r = invocations(sys.argv[2], "application/json", model, model.metadata.get_input_schema())
print(json.dumps({"status": r.status, "body": r.response}))
`

// The strings "NaN", "Infinity", "-Infinity" (and Python's other spellings)
// give the gateway's model the predictions MLflow's scoring server gives on
// the same request.
func TestNonFiniteStrings_AsMLflowScores(t *testing.T) {
	s := &server{Venv: modelgatetest.MLflowVenv(t)} // no tracking server: the model is scored in-process
	dir, err := filepath.Abs("../examples/demand-forecast/models/v2")
	if err != nil {
		t.Fatal(err)
	}
	m, err := mlmodel.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	rows := [][]any{
		{"NaN", 1.0, 2.0, 15.0, 1.0}, {"Infinity", 0.0, 2.0, 15.0, 1.0}, {"-Infinity", 1.0, 2.0, 15.0, 1.0},
		{42.0, "NaN", 2.0, 15.0, 1.0}, {42.0, 1.0, "inf", 15.0, 1.0}, {42.0, 1.0, 2.0, "-inf", 1.0},
		{42.0, 1.0, 2.0, 15.0, "Infinity"}, {42.0, 1.0, 2.0, 15.0, 1.0},
	}
	body, err := json.Marshal(map[string]any{"dataframe_split": map[string]any{"columns": m.FeatureNames(), "data": rows}})
	if err != nil {
		t.Fatal(err)
	}
	out := strings.TrimSpace(python(t, s, nil, "-c", scoreWithMLflow, dir, string(body)))
	var res struct {
		Status int    `json:"status"`
		Body   string `json:"body"`
	}
	var want struct {
		Predictions []float64 `json:"predictions"`
	}
	if err := json.Unmarshal([]byte(out[strings.LastIndex(out, "\n")+1:]), &res); err != nil || res.Status != 200 {
		t.Fatalf("MLflow's scoring server: %v\n%s", err, out)
	}
	if err := json.Unmarshal([]byte(res.Body), &want); err != nil {
		t.Fatalf("MLflow's answer %s: %v", res.Body, err)
	}
	instances := make([]any, len(rows))
	for i, r := range rows {
		instances[i] = r
	}
	features, err := m.Features(instances)
	if err != nil {
		t.Fatal(err)
	}
	got, err := m.Predict(features)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want.Predictions) {
		t.Fatalf("%d predictions, MLflow gave %d", len(got), len(want.Predictions))
	}
	for i := range got {
		if math.Abs(got[i]-want.Predictions[i]) > 1e-12*math.Abs(want.Predictions[i]) {
			t.Errorf("row %v: %v, MLflow's scoring server %v", rows[i], got[i], want.Predictions[i])
		}
	}
}
