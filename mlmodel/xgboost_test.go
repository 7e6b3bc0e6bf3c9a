package mlmodel_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/mlmodel"
)

// mustGenerateXGBoost runs testdata/xgb_gen.py with the MLflow virtualenv's
// Python (scripts/mlflow-env), or skips (fails when
// MODELGATE_REQUIRE_INTEGRATION=1) without one.
func mustGenerateXGBoost(t *testing.T) string {
	t.Helper()
	venv := os.Getenv("MODELGATE_MLFLOW_VENV")
	if venv == "" {
		venv = filepath.Join("..", ".cache", "mlflow-venv")
	}
	python := filepath.Join(venv, "bin", "python")
	if err := exec.Command(python, "-c", "import mlflow.xgboost, xgboost").Run(); err != nil {
		msg := fmt.Sprintf("no virtualenv with mlflow and xgboost at %s (%v); install it with scripts/mlflow-env", venv, err)
		if os.Getenv("MODELGATE_REQUIRE_INTEGRATION") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	dir := t.TempDir()
	cmd := exec.Command(python, filepath.Join("testdata", "xgb_gen.py"), dir)
	cmd.Env = append(os.Environ(), "PYTHONWARNINGS=ignore")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("xgb_gen.py: %v\n%s", err, out)
	}
	return dir
}

// TestLoad_XGBoost loads the directories mlflow.xgboost.save_model writes
// (UBJSON, JSON and model.xgb; a Booster and an XGBRegressor) and checks
// Features and Predict against MLflow's pyfunc bit for bit; the
// scikit-learn classifier and a regressor trained with early stopping are
// refused.
func TestLoad_XGBoost(t *testing.T) {
	dir := mustGenerateXGBoost(t)
	var rows []any
	var expected map[string][]float64
	for name, v := range map[string]any{"rows.json": &rows, "expected.json": &expected} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatal(err)
		}
	}
	if len(expected) != 4 {
		t.Fatalf("xgb_gen.py wrote %d cases", len(expected))
	}
	for name, want := range expected {
		t.Run(name, func(t *testing.T) {
			m := mustLoad(t, filepath.Join(dir, name))
			if m.XGBoost() == nil || m.Booster() != nil || strings.Join(m.FeatureNames(), ",") != "a,b,c" {
				t.Fatalf("loaded %v, %v, features %v", m.XGBoost(), m.Booster(), m.FeatureNames())
			}
			x, err := m.Features(rows)
			if err != nil {
				t.Fatal(err)
			}
			got, err := m.Predict(x)
			if err != nil {
				t.Fatal(err)
			}
			for i := range want {
				if got[i] != want[i] {
					t.Errorf("row %d %v: got %v, pyfunc %v", i, rows[i], got[i], want[i])
				}
			}
		})
	}
	for name, msg := range map[string]string{
		"classifier":           "the xgboost flavor holds a xgboost.sklearn.XGBClassifier, whose predict is not the booster's prediction",
		"regressor_early_stop": "trained with early stopping and predicts with trees up to best_iteration",
	} {
		_, err := mlmodel.Load(filepath.Join(dir, name))
		if modelgate.ErrorCode(err) != modelgate.EINVALID || !strings.Contains(err.Error(), msg) {
			t.Errorf("%s: got %v, want EINVALID saying %q", name, err, msg)
		}
	}
}
