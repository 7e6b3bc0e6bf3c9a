package lightgbm_test

import (
	"bytes"
	"math"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/lightgbm"
	"github.com/modelgate/modelgate/modelgatetest"
)

// FuzzParse parses a text model and, when it is accepted, predicts a few
// rows with it. Properties: nothing panics; a small model never allocates
// much, whatever counts it declares (num_class, num_leaves, num_cat,
// max_feature_idx…); a refused model is EINVALID; an accepted one predicts
// NumOutputs numbers per row (checkPredict), for rows of zeros, missing
// values, negatives, large values and small category codes. Seeds:
// testdata/fuzz/FuzzParse (the demand-forecast and testdata models cut to a
// few trees, and malformed ones).
func FuzzParse(f *testing.F) {
	f.Fuzz(func(t *testing.T, text []byte) {
		var m *lightgbm.Model
		var err error
		modelgatetest.WantBoundedAlloc(t, len(text), func() { m, err = lightgbm.Parse(bytes.NewReader(text)) })
		if err != nil {
			if modelgate.ErrorCode(err) != modelgate.EINVALID {
				t.Fatalf("error %v (%T) is not EINVALID", err, err)
			}
			return
		}
		for _, x := range []float64{0, math.NaN(), -1, 1e300, 3, 33} {
			checkPredict(t, m, x, linearTree.Match(text))
		}
	})
}

// linearTree finds a linear tree in a model's text.
var linearTree = regexp.MustCompile(`(?m)^is_linear=\s*1\s*$`)

// checkPredict predicts a row of x with m: NumOutputs numbers, finite but
// where the objective's output transform (exp, x², log1p∘exp) overflows for
// a finite raw score, as LightGBM's ConvertOutput does; never NaN. A linear
// tree's leaf is a linear function of the row, unbounded, so with linear
// trees a large x may give ±inf and inf-inf NaN, as in LightGBM.
func checkPredict(t *testing.T, m *lightgbm.Model, x float64, linear bool) {
	t.Helper()
	row := make([]float64, m.NumFeatures())
	for i := range row {
		row[i] = x
	}
	out, err := m.Predict(row)
	if err != nil {
		t.Fatalf("Predict(%v…): %v", x, err)
	}
	if len(out) != m.NumOutputs() {
		t.Fatalf("Predict(%v…) = %d values, want %d", x, len(out), m.NumOutputs())
	}
	for _, v := range out {
		if !linear && (math.IsNaN(v) || (math.IsInf(v, 0) && !unbounded(m.Objective()))) {
			t.Fatalf("Predict(%v…) = %v (objective %q)", x, out, m.Objective())
		}
	}
}

// unbounded reports whether an objective's output transform can overflow a
// finite raw score: exp (poisson, gamma, tweedie), log1p∘exp
// (cross_entropy_lambda) and x² (reg_sqrt).
func unbounded(objective string) bool {
	f := strings.Fields(objective)
	if len(f) == 0 {
		return false
	}
	switch f[0] {
	case "poisson", "gamma", "tweedie", "xentlambda", "cross_entropy_lambda":
		return true
	}
	return slices.Contains(f[1:], "sqrt")
}
