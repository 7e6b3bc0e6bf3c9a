package mlmodel_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/modelgate/modelgate/mlmodel"
)

// exampleDir is the demand-forecast example, whose generator writes models
// v1..v3 and lightgbm's predictions for them.
var exampleDir = filepath.Join("..", "examples", "demand-forecast")

// playbookSmoke is the smoke request of the playbook, step 3.
const playbookSmoke = `{"instances": [{"store_id": 42, "date": "2025-01-15", "promo": 1}]}`

func mustExampleGolden(t *testing.T) [][]string {
	t.Helper()
	path := filepath.Join(exampleDir, "golden", "predictions.csv")
	if _, err := os.Stat(path); err != nil {
		t.Skipf("the demand-forecast example is not generated yet (%v)", err)
	}
	recs := mustReadCSV(t, path)
	if got := strings.Join(recs[0], ","); got != "store_id,date,promo,v1,v2,v3" {
		t.Fatalf("golden header is %q", got)
	}
	return recs[1:]
}

// TestGolden_DemandForecast serves every golden row through Load, Features
// and Predict and compares with lightgbm's predictions, with the request
// fields as encoding/json gives them both with and without UseNumber.
func TestGolden_DemandForecast(t *testing.T) {
	rows := mustExampleGolden(t)
	for col, version := range []string{"v1", "v2", "v3"} {
		t.Run(version, func(t *testing.T) {
			m := mustLoad(t, filepath.Join(exampleDir, "models", version))
			worst := 0.0
			for _, useNumber := range []bool{false, true} {
				worst = max(worst, compareGolden(t, m, rows, 3+col, useNumber))
			}
			t.Logf("%d rows, max relative difference %.3g", len(rows), worst)
		})
	}
}

// compareGolden checks column col of rows and returns the largest relative
// difference.
func compareGolden(t *testing.T, m *mlmodel.Model, rows [][]string, col int, useNumber bool) float64 {
	t.Helper()
	instances := make([]any, len(rows))
	for i, r := range rows {
		instances[i] = mustDecode(t, `{"store_id": `+r[0]+`, "date": "`+r[1]+`", "promo": `+r[2]+`}`, useNumber)
	}
	features, err := m.Features(instances)
	if err != nil {
		t.Fatal(err)
	}
	got, err := m.Predict(features)
	if err != nil {
		t.Fatal(err)
	}
	worst := 0.0
	for i, r := range rows {
		want, err := strconv.ParseFloat(r[col], 64)
		if err != nil {
			t.Fatal(err)
		}
		d := relDiff(got[i], want)
		if d > goldenTolerance {
			t.Errorf("row %d %v: got %v, want %v (relative difference %.3g)", i, r[:3], got[i], want, d)
		}
		worst = max(worst, d)
	}
	return worst
}

func mustDecode(tb testing.TB, text string, useNumber bool) any {
	tb.Helper()
	dec := json.NewDecoder(strings.NewReader(text))
	if useNumber {
		dec.UseNumber()
	}
	var v any
	if err := dec.Decode(&v); err != nil {
		tb.Fatal(err)
	}
	return v
}

// TestGolden_PlaybookSmokeRequest checks the playbook's smoke request is a
// golden row and that every version answers it as lightgbm does.
func TestGolden_PlaybookSmokeRequest(t *testing.T) {
	var golden []string
	for _, r := range mustExampleGolden(t) {
		if r[0] == "42" && r[1] == "2025-01-15" && r[2] == "1" {
			golden = r
		}
	}
	if golden == nil {
		t.Fatal("the golden file has no row for the playbook smoke request (store 42, 2025-01-15, promo 1)")
	}
	var req struct{ Instances []any }
	if err := json.Unmarshal([]byte(playbookSmoke), &req); err != nil {
		t.Fatal(err)
	}
	for col, version := range []string{"v1", "v2", "v3"} {
		m := mustLoad(t, filepath.Join(exampleDir, "models", version))
		features, err := m.Features(req.Instances)
		if err != nil {
			t.Fatal(err)
		}
		got, err := m.Predict(features)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := strconv.ParseFloat(golden[3+col], 64)
		if d := relDiff(got[0], want); d > goldenTolerance {
			t.Errorf("%s: got %v, want %v", version, got[0], want)
		}
	}
}

// TestGolden_EveryOp checks every op and a non-default date_format against
// testdata/gen.py, which computes them with Python's datetime.
func TestGolden_EveryOp(t *testing.T) {
	m := mustLoad(t, filepath.Join("testdata", "every-op"))
	recs := mustReadCSV(t, filepath.Join("testdata", "every-op.csv"))
	worst := 0.0
	for i, r := range recs[1:] {
		inst := mustDecode(t, `{"store": `+r[0]+`, "flag": `+r[1]+`, "date": "`+r[2]+`"}`, i%2 == 0)
		features, err := m.Features([]any{inst})
		if err != nil {
			t.Fatal(err)
		}
		got, err := m.Predict(features)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := strconv.ParseFloat(r[3], 64)
		if d := relDiff(got[0], want); d > goldenTolerance {
			t.Errorf("row %d %v: features %v, got %v, want %v", i, r[:3], features[0], got[0], want)
		}
		worst = max(worst, relDiff(got[0], want))
	}
	t.Logf("%d rows, max relative difference %.3g", len(recs)-1, worst)
}
