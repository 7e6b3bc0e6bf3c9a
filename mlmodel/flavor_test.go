package mlmodel_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/mlmodel"
	"github.com/modelgate/modelgate/modelgatetest"
)

// runPython runs a script of testdata with args.
func runPython(t *testing.T, script string, args ...string) {
	t.Helper()
	cmd := exec.Command(filepath.Join(modelgatetest.MLflowVenv(t), "bin", "python"), append([]string{filepath.Join("testdata", script)}, args...)...)
	cmd.Env = append(os.Environ(), "PYTHONWARNINGS=ignore")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", script, err, out)
	}
}

// TestPandasCategory serves a booster trained on pandas category columns,
// saved by MLflow at test time, and compares with MLflow's pyfunc
// predictions: seen, unseen and missing category values, numbers against
// int categories, strings against them, and the numeric column under the
// name the user logged ("num one") and LightGBM's ("num_one").
func TestPandasCategory(t *testing.T) {
	dir := t.TempDir()
	runPython(t, "pandas_category.py", dir)
	m := mustLoad(t, filepath.Join(dir, "model"))
	var cases []struct {
		Row  map[string]any
		Want float64
	}
	b, err := os.ReadFile(filepath.Join(dir, "rows.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &cases); err != nil {
		t.Fatal(err)
	}
	for i, c := range cases {
		renamed := map[string]any{"num_one": c.Row["num one"], "color": c.Row["color"], "size": c.Row["size"], "x": c.Row["x"]}
		array := []any{c.Row["num one"], c.Row["color"], c.Row["size"], c.Row["x"]}
		for _, inst := range []any{c.Row, renamed, array} {
			x, err := m.Features([]any{inst})
			if err != nil {
				t.Fatalf("row %d %v: %v", i, inst, err)
			}
			got, err := m.Predict(x)
			if err != nil {
				t.Fatal(err)
			}
			if d := relDiff(got[0], c.Want); d > 1e-12 {
				t.Errorf("row %d %v: got %v, pyfunc %v (relative difference %g)", i, inst, got[0], c.Want, d)
			}
		}
	}
	if _, ok := cases[0].Row["num one"]; !ok {
		t.Fatal("the rows no longer use the logged name")
	}
	fields := map[string]any{"num one": 1.0, "color": "red", "size": 2.0, "x": 0.0}
	before := fmt.Sprint(fields)
	if _, err := m.Features([]any{fields}); err != nil || fmt.Sprint(fields) != before {
		t.Errorf("Features changed the caller's instance: %v → %v (%v)", before, fields, err)
	}
	delete(fields, "num one")
	_, err = m.Features([]any{fields})
	wantError(t, err, modelgate.EINVALID, `instance 0: missing field "num_one"`)
}

// TestLoad_NotNative checks the error a caller can tell apart to serve the
// model with MLflow's scoring server instead.
func TestLoad_NotNative(t *testing.T) {
	for name, edit := range map[string][2]string{
		"OtherFlavor":    {"  lightgbm:\n", "  sklearn:\n"},
		"ScikitLearnAPI": {"model_class: lightgbm.basic.Booster", "model_class: lightgbm.sklearn.LGBMRegressor"},
	} {
		t.Run(name, func(t *testing.T) {
			dir := mustCopyDir(t, everyOp)
			mustEdit(t, dir, "MLmodel", edit[0], edit[1])
			_, err := mlmodel.Load(dir)
			if !errors.Is(err, mlmodel.ErrNotNative) || modelgate.ErrorCode(err) != modelgate.EINVALID {
				t.Errorf("got %v, want EINVALID wrapping ErrNotNative", err)
			}
		})
	}
	dir := mustCopyDir(t, everyOp)
	mustEdit(t, dir, "model.lgb", "num_leaves=7", "num_leaves=seven")
	if _, err := mlmodel.Load(dir); err == nil || errors.Is(err, mlmodel.ErrNotNative) {
		t.Errorf("a corrupt booster: got %v, want an error that is not ErrNotNative", err)
	}
}
