package lightgbm_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/lightgbm"
	"github.com/modelgate/modelgate/modelgatetest"
)

// maxRefused is how many of the trained models may be refused: a couple,
// so that a LightGBM feature the package does not support yet fails the
// test only when it is more than a corner.
const maxRefused = 2

// TestFidelity trains some 80 models with the real LightGBM (testdata/fidelity.py
// run by the MLflow virtualenv's python: every objective, boosting=rf,
// categorical features, zero_as_missing, use_missing=false, trees of 7 to 63
// leaves, linear trees) and checks that every prediction, through every entry point
// (PredictBatchInto, PredictBatchRawInto, Predict, PredictRaw), equals
// LightGBM's, normal and raw_score, to fidelityTolerance, with batches
// evaluated both by the walk and by QuickScorer. The rows include
// NaN, ±inf, values within kZeroThreshold of zero, every probed threshold
// and its float64 neighbours, and odd category codes. Without the
// virtualenv it skips (fails under MODELGATE_REQUIRE_INTEGRATION=1).
func TestFidelity(t *testing.T) {
	dir := mustTrainModels(t)
	data, err := os.ReadFile(filepath.Join(dir, "models"))
	if err != nil {
		t.Fatal(err)
	}
	names := strings.Fields(string(data))
	if len(names) < 60 {
		t.Fatalf("fidelity.py wrote %d models, want at least 60", len(names))
	}
	var refused []string
	var values, exact [2]int // [normal, raw]
	for _, name := range names {
		m, err := lightgbm.ParseFile(filepath.Join(dir, name+".txt"))
		if err != nil {
			if modelgate.ErrorCode(err) != modelgate.EINVALID || modelgate.ErrorMessage(err) == "" {
				t.Errorf("%s: refused without a clear EINVALID error: %v", name, err)
			}
			t.Logf("%s: refused: %s", name, modelgate.ErrorMessage(err))
			refused = append(refused, name)
			continue
		}
		for _, qs := range []bool{false, true} {
			if lightgbm.SetQuickScorer(m, qs) != qs {
				continue // the model does not fit QuickScorer
			}
			for i, raw := range []bool{false, true} {
				n, e := checkFidelity(t, name, m, dir, raw, qs)
				values[i], exact[i] = values[i]+n, exact[i]+e
			}
		}
	}
	if len(refused) > maxRefused {
		t.Errorf("%d of %d models refused (%s), want at most %d", len(refused), len(names), strings.Join(refused, ", "), maxRefused)
	}
	t.Logf("%d models, %d refused; bit-identical to LightGBM's: %d of %d predictions, %d of %d raw scores (batch and row entry points; batches by the walk and, where the model fits it, by QuickScorer)",
		len(names), len(refused), exact[0], values[0], exact[1], values[1])
}

// mustTrainModels runs fidelity.py into a temporary directory.
func mustTrainModels(t *testing.T) string {
	t.Helper()
	python := filepath.Join(modelgatetest.MLflowVenv(t), "bin", "python")
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, python, filepath.Join("testdata", "fidelity.py"), dir).CombinedOutput()
	if err != nil {
		t.Fatalf("testdata/fidelity.py: %v\n%s", err, out)
	}
	return dir
}

// checkFidelity compares model name's batch and row predictions (raw
// scores if raw) with LightGBM's and returns how many values it compared
// and how many were bit-identical; qs says which batch evaluator m is set
// to, for the messages.
func checkFidelity(t *testing.T, name string, m *lightgbm.Model, dir string, raw, qs bool) (values, exact int) {
	rows := mustReadCSV(t, filepath.Join(dir, name+".rows.csv"))
	want := mustReadCSV(t, filepath.Join(dir, name+map[bool]string{false: ".pred.csv", true: ".raw.csv"}[raw]))
	k := m.NumOutputs()
	batch := make([]float64, len(rows)*k)
	into, one := m.PredictBatchInto, m.Predict
	if raw {
		into, one = m.PredictBatchRawInto, m.PredictRaw
	}
	if err := into(rows, batch); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	for i, r := range rows {
		single, err := one(r)
		if err != nil {
			t.Fatalf("%s row %d: %v", name, i, err)
		}
		if len(want[i]) != k {
			t.Fatalf("%s row %d: LightGBM gave %d values, the model has %d outputs", name, i, len(want[i]), k)
		}
		for j, w := range want[i] {
			for _, got := range []float64{batch[i*k+j], single[j]} {
				values++
				if got == w || (got != got && w != w) { // NaN: a linear tree's inf-inf, as LightGBM's
					exact++
				} else if d := relDiff(got, w); d > fidelityTolerance {
					t.Errorf("%s raw=%v QuickScorer=%v row %d %v output %d: got %v, LightGBM %v (relative difference %.3g)", name, raw, qs, i, r, j, got, w, d)
				}
			}
		}
	}
	return values, exact
}
