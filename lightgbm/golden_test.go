package lightgbm_test

import (
	"encoding/csv"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/modelgate/modelgate/lightgbm"
)

// goldenTolerance is the largest accepted |go - python| / max(1, |python|).
const goldenTolerance = 1e-9

// fidelityTolerance is the largest accepted relative difference from
// LightGBM in the fidelity test and the benchmark check.
const fidelityTolerance = 1e-12

// TestGolden compares Predict with lightgbm's own predictions, written by
// testdata/gen.py, for every case it generated.
func TestGolden(t *testing.T) {
	cases := []string{
		"regression_nan", "regression_zero", "regression_sqrt", "categorical", "binary", "poisson",
		"tweedie", "xentropy", "multiclass", "multiclassova", "rf", "single_leaf",
	}
	for _, name := range cases {
		t.Run(name, func(t *testing.T) {
			m := mustParseFile(t, filepath.Join("testdata", name+".txt"))
			rows := mustReadGolden(t, filepath.Join("testdata", name+".csv"), m.NumFeatures())
			worst, exact := 0.0, 0
			for i, r := range rows {
				got, err := m.Predict(r.features)
				if err != nil {
					t.Fatalf("row %d: %v", i, err)
				}
				for k := range got {
					d := relDiff(got[k], r.want[k])
					if d > goldenTolerance {
						t.Errorf("row %d %v output %d: got %v, want %v (relative difference %.3g)", i, r.features, k, got[k], r.want[k], d)
					}
					worst = max(worst, d)
					if got[k] == r.want[k] {
						exact++
					}
				}
			}
			t.Logf("%d rows, max relative difference %.3g, %d of %d values bit-identical", len(rows), worst, exact, len(rows)*m.NumOutputs())
		})
	}
}

type goldenRow struct {
	features []float64
	want     []float64
}

// mustReadGolden reads f0..f<n-1>,p0.. rows.
func mustReadGolden(tb testing.TB, path string, nFeatures int) []goldenRow {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		tb.Fatal(err)
	}
	if len(recs) < 2 || !strings.HasPrefix(recs[0][nFeatures], "p") {
		tb.Fatalf("%s: want a header and rows with %d feature columns", path, nFeatures)
	}
	var rows []goldenRow
	for _, rec := range recs[1:] {
		vals := make([]float64, len(rec))
		for j, s := range rec {
			if vals[j], err = strconv.ParseFloat(s, 64); err != nil {
				tb.Fatalf("%s: %v", path, err)
			}
		}
		rows = append(rows, goldenRow{features: vals[:nFeatures], want: vals[nFeatures:]})
	}
	return rows
}

func relDiff(got, want float64) float64 {
	if math.IsNaN(got) || math.IsNaN(want) {
		if math.IsNaN(got) && math.IsNaN(want) {
			return 0
		}
		return math.Inf(1)
	}
	return math.Abs(got-want) / max(1, math.Abs(want))
}

func mustParseFile(tb testing.TB, path string) *lightgbm.Model {
	tb.Helper()
	m, err := lightgbm.ParseFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return m
}
