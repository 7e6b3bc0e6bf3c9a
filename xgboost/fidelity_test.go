package xgboost_test

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/modelgatetest"
	"github.com/modelgate/modelgate/xgboost"
)

// fidelityTolerance is the largest accepted |go - xgboost| / |xgboost|.
// XGBoost's outputs are float32 and so are ours, so in practice they are
// bit-identical; the test also counts exact matches.
const fidelityTolerance = 1e-12

// venvPython returns the MLflow virtualenv's Python (it has xgboost, see
// scripts/mlflow-env), or skips (fails when MODELGATE_REQUIRE_INTEGRATION=1)
// if it is missing.
func venvPython(t testing.TB) string {
	t.Helper()
	python := filepath.Join(modelgatetest.MLflowVenv(t), "bin", "python")
	if err := exec.Command(python, "-c", "import xgboost").Run(); err != nil {
		modelgatetest.SkipOrFail(t, fmt.Sprintf("the MLflow virtualenv's %s cannot import xgboost (%v); install it with scripts/mlflow-env", python, err))
	}
	return python
}

var (
	genOnce sync.Once
	genDir  string
	genErr  error
)

// mustGenerate runs testdata/gen.py once per test binary: it trains the
// models with real XGBoost and writes XGBoost's predictions.
func mustGenerate(t *testing.T) string {
	t.Helper()
	return mustGenerateB(t)
}

// mustGenerateB is mustGenerate for tests and benchmarks.
func mustGenerateB(t testing.TB) string {
	t.Helper()
	python := venvPython(t)
	genOnce.Do(func() {
		genDir, genErr = os.MkdirTemp("", "xgboost-fidelity-")
		if genErr != nil {
			return
		}
		out, err := exec.Command(python, filepath.Join("testdata", "gen.py"), genDir).CombinedOutput()
		if err != nil {
			genErr = fmt.Errorf("gen.py: %v\n%s", err, out)
		}
	})
	if genErr != nil {
		t.Fatal(genErr)
	}
	return genDir
}

func TestMain(m *testing.M) {
	code := m.Run()
	if genDir != "" {
		os.RemoveAll(genDir)
	}
	os.Exit(code)
}

type genCase struct {
	Name    string
	Outputs int
	Margins int
	Rows    int
	Refused int
}

// TestFidelity loads every generated model from JSON and from UBJSON and
// compares Predict and PredictMargin with XGBoost's predict and
// predict(output_margin=True) on every row, and checks that the rows
// XGBoost refuses (±Inf, beyond float32) are refused.
func TestFidelity(t *testing.T) {
	dir := mustGenerate(t)
	var cases []genCase
	b, err := os.ReadFile(filepath.Join(dir, "cases.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &cases); err != nil {
		t.Fatal(err)
	}
	if len(cases) < 20 {
		t.Fatalf("gen.py wrote %d cases, want at least 20", len(cases))
	}
	for _, c := range cases {
		for _, format := range []string{"json", "ubj"} {
			t.Run(c.Name+"/"+format, func(t *testing.T) {
				m, err := xgboost.ParseFile(filepath.Join(dir, c.Name+"."+format))
				if err != nil {
					t.Fatal(err)
				}
				checkCase(t, m, c, mustReadRows(t, filepath.Join(dir, c.Name+".csv"), m.NumFeatures()))
			})
		}
	}
}

func checkCase(t *testing.T, m *xgboost.Model, c genCase, rows []genRow) {
	t.Helper()
	if m.NumOutputs() != c.Outputs || m.NumMargins() != c.Margins {
		t.Fatalf("%d outputs and %d margins, XGBoost has %d and %d", m.NumOutputs(), m.NumMargins(), c.Outputs, c.Margins)
	}
	worst, exact, compared, refused := 0.0, 0, 0, 0
	for i, r := range rows {
		got, err := m.Predict(r.x)
		gotMargin, errMargin := m.PredictMargin(r.x)
		if !r.ok {
			refused++
			if modelgate.ErrorCode(err) != modelgate.EINVALID || modelgate.ErrorCode(errMargin) != modelgate.EINVALID {
				t.Errorf("row %d %v: XGBoost refuses it, got %v, %v (errors %v, %v)", i, r.x, got, gotMargin, err, errMargin)
			}
			continue
		}
		if err != nil || errMargin != nil {
			t.Fatalf("row %d %v: %v, %v", i, r.x, err, errMargin)
		}
		for k, pair := range [][2][]float64{{got, r.pred}, {gotMargin, r.margin}} {
			for j := range pair[1] {
				d := relDiff(pair[0][j], pair[1][j])
				if d > fidelityTolerance {
					t.Errorf("row %d %v %s %d: got %v, XGBoost %v (relative difference %.3g)", i, r.x, []string{"prediction", "margin"}[k], j, pair[0][j], pair[1][j], d)
				}
				worst = max(worst, d)
				compared++
				if pair[0][j] == pair[1][j] || math.IsNaN(pair[0][j]) && math.IsNaN(pair[1][j]) {
					exact++
				}
			}
		}
	}
	if refused != c.Refused || len(rows) != c.Rows {
		t.Errorf("read %d rows (%d refused), gen.py wrote %d (%d refused)", len(rows), refused, c.Rows, c.Refused)
	}
	t.Logf("%d rows (%d refused by both), %d values, %d bit-identical, max relative difference %.3g", len(rows), refused, compared, exact, worst)
}

type genRow struct {
	x            []float64
	ok           bool
	pred, margin []float64
}

// mustReadRows reads f0..f<n-1>,ok,p*,m* rows written with Python's repr.
func mustReadRows(tb testing.TB, path string, nFeatures int) []genRow {
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
	header := recs[0]
	if len(header) <= nFeatures || header[nFeatures] != "ok" {
		tb.Fatalf("%s: header %v, want %d feature columns then ok", path, header, nFeatures)
	}
	nPred := 0
	for _, h := range header[nFeatures+1:] {
		if strings.HasPrefix(h, "p") {
			nPred++
		}
	}
	var rows []genRow
	for _, rec := range recs[1:] {
		r := genRow{x: mustFloats(tb, rec[:nFeatures]), ok: rec[nFeatures] == "1"}
		if r.ok {
			vals := mustFloats(tb, rec[nFeatures+1:])
			r.pred, r.margin = vals[:nPred], vals[nPred:]
		}
		rows = append(rows, r)
	}
	return rows
}

func mustFloats(tb testing.TB, ss []string) []float64 {
	tb.Helper()
	out := make([]float64, len(ss))
	for i, s := range ss {
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			tb.Fatal(err)
		}
		out[i] = v
	}
	return out
}

func relDiff(got, want float64) float64 {
	switch {
	case math.IsNaN(got) || math.IsNaN(want):
		if math.IsNaN(got) && math.IsNaN(want) {
			return 0
		}
		return math.Inf(1)
	case got == want:
		return 0
	}
	return math.Abs(got-want) / math.Abs(want)
}
