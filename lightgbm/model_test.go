package lightgbm_test

import (
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/lightgbm"
)

func TestPredict_WrongFeatureCount(t *testing.T) {
	m := mustParseFile(t, filepath.Join("testdata", "regression_nan.txt"))
	_, err := m.Predict([]float64{1, 2})
	want := "want 4 feature values (Column_0, Column_1, Column_2, Column_3), got 2"
	if got := modelgate.ErrorMessage(err); got != want || modelgate.ErrorCode(err) != modelgate.EINVALID {
		t.Errorf("got %s %q, want invalid %q", modelgate.ErrorCode(err), got, want)
	}
	if _, err := m.PredictRow(make([]float64, 5)); modelgate.ErrorCode(err) != modelgate.EINVALID {
		t.Errorf("PredictRow: got %v, want EINVALID", err)
	}
	_, err = m.PredictBatch([][]float64{make([]float64, 4), make([]float64, 3)})
	want = "row 1: want 4 feature values (Column_0, Column_1, Column_2, Column_3), got 3"
	if got := modelgate.ErrorMessage(err); got != want {
		t.Errorf("PredictBatch: got %q, want %q", got, want)
	}
}

func TestPredictRow_Multiclass(t *testing.T) {
	m := mustParseFile(t, filepath.Join("testdata", "multiclass.txt"))
	_, err := m.PredictRow(make([]float64, 4))
	want := `the model has 4 outputs per row (objective "multiclass num_class:4"); use Predict`
	if got := modelgate.ErrorMessage(err); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	p, err := m.Predict([]float64{0.1, 0, math.NaN(), -1})
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, v := range p {
		sum += v
	}
	if math.Abs(sum-1) > 1e-12 {
		t.Errorf("softmax outputs sum to %v", sum)
	}
}

// TestPredictBatch_MatchesPredictRow checks the three entry points agree.
func TestPredictBatch_MatchesPredictRow(t *testing.T) {
	m := mustParseFile(t, filepath.Join("testdata", "categorical.txt"))
	rows := mustReadGolden(t, filepath.Join("testdata", "categorical.csv"), m.NumFeatures())
	var in [][]float64
	var want []float64
	for _, r := range rows {
		in = append(in, r.features)
		v, err := m.PredictRow(r.features)
		if err != nil {
			t.Fatal(err)
		}
		p, _ := m.Predict(r.features)
		if p[0] != v {
			t.Fatalf("Predict %v, PredictRow %v", p[0], v)
		}
		want = append(want, v)
	}
	got, err := m.PredictBatch(in)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b float64) bool { return a == b || (a != a && b != b) })); diff != "" {
		t.Errorf("PredictBatch (-PredictRow +PredictBatch):\n%s", diff)
	}
}

// TestObjectives checks the output transform of every objective name on
// one model, against the raw score of the same trees.
func TestObjectives(t *testing.T) {
	text := mustReadText(t, "regression_nan.txt")
	raw := mustParseText(t, replaceLine(t, text, "objective=", "objective=none"))
	sigmoid := func(s float64) func(float64) float64 {
		return func(x float64) float64 { return 1 / (1 + math.Exp(-s*x)) }
	}
	identity := func(x float64) float64 { return x }
	tests := map[string]func(float64) float64{
		"regression": identity, "regression_l1": identity, "huber": identity, "fair": identity,
		"quantile": identity, "mape": identity, "lambdarank": identity, "rank_xendcg": identity, "custom": identity,
		"regression sqrt": func(x float64) float64 { return math.Copysign(x*x, x) },
		"huber sqrt":      identity, // LightGBM drops sqrt for huber
		"poisson":         math.Exp, "gamma": math.Exp, "tweedie": math.Exp,
		"binary sigmoid:2.5": sigmoid(2.5), "cross_entropy": sigmoid(1), "xentropy": sigmoid(1),
		"cross_entropy_lambda": func(x float64) float64 { return math.Log1p(math.Exp(x)) },
		"xentlambda":           func(x float64) float64 { return math.Log1p(math.Exp(x)) },
	}
	rows := [][]float64{{0.3, 0, -1, 2}, {math.NaN(), 1, 0.5, -0.5}, {-2, -3, 1.5, 0}}
	for objective, want := range tests {
		m := mustParseText(t, replaceLine(t, text, "objective=", "objective="+objective))
		for _, r := range rows {
			x, _ := raw.PredictRow(r)
			got, err := m.PredictRow(r)
			if err != nil {
				t.Fatal(err)
			}
			if got != want(x) {
				t.Errorf("%s: raw %v gives %v, want %v", objective, x, got, want(x))
			}
		}
	}
}

func TestObjectives_Invalid(t *testing.T) {
	text := mustReadText(t, "regression_nan.txt")
	tests := map[string]string{
		"binary sigmoid:-1":         `line 7: objective binary: sigmoid "-1" is not a positive number`,
		"multiclass":                `line 7: objective multiclass: num_class "" does not match the model's 1 trees per iteration`,
		"multiclassova num_class:1": "line 7: objective multiclassova has no sigmoid parameter",
	}
	for objective, want := range tests {
		_, err := lightgbm.Parse(strings.NewReader(replaceLine(t, text, "objective=", "objective="+objective)))
		if got := modelgate.ErrorMessage(err); got != want {
			t.Errorf("%s: got %q, want %q", objective, got, want)
		}
	}
}

func mustParseText(tb testing.TB, text string) *lightgbm.Model {
	tb.Helper()
	m, err := lightgbm.Parse(strings.NewReader(text))
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

// TestPredictBatchInto_Large checks that a batch big enough to be split over
// goroutines and blocks, with NaN, zeros and odd categories, gives exactly
// Predict's results row by row, normal and raw, on every class.
func TestPredictBatchInto_Large(t *testing.T) {
	for _, name := range []string{"categorical", "multiclass", "regression_zero", "rf"} {
		m := mustParseFile(t, filepath.Join("testdata", name+".txt"))
		var rows [][]float64
		for i := range 5000 {
			r := make([]float64, m.NumFeatures())
			for j := range r {
				r[j] = []float64{math.NaN(), 0, -1, 1e-36, float64(i%97) - 40, float64(i%13) / 3, 1e12}[(i+j*3)%7]
			}
			rows = append(rows, r)
		}
		for _, raw := range []bool{false, true} {
			into, one := m.PredictBatchInto, m.Predict
			if raw {
				into, one = m.PredictBatchRawInto, m.PredictRaw
			}
			k := m.NumOutputs()
			got := make([]float64, len(rows)*k)
			if err := into(rows, got); err != nil {
				t.Fatal(err)
			}
			for i, r := range rows {
				want, _ := one(r)
				if diff := cmp.Diff(want, got[i*k:(i+1)*k]); diff != "" {
					t.Fatalf("%s raw=%v row %d %v (-Predict +batch):\n%s", name, raw, i, r, diff)
				}
			}
		}
	}
}

func TestPredictBatchInto_WrongOut(t *testing.T) {
	m := mustParseFile(t, filepath.Join("testdata", "multiclass.txt"))
	out := []float64{7, 7, 7}
	err := m.PredictBatchInto([][]float64{make([]float64, 4)}, out)
	want := "out holds 3 values, want 4 (1 rows of 4 outputs)"
	if got := modelgate.ErrorMessage(err); got != want || modelgate.ErrorCode(err) != modelgate.EINVALID {
		t.Errorf("got %s %q, want invalid %q", modelgate.ErrorCode(err), got, want)
	}
	if out[0] != 7 {
		t.Errorf("out was written: %v", out)
	}
}
