package mlmodel_test

import (
	"encoding/json"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/mlmodel"
)

var everyOp = filepath.Join("testdata", "every-op")

func TestLoad_MLmodel(t *testing.T) {
	m := mustLoad(t, everyOp)
	ml := m.MLmodel()
	if got := ml.Flavors["python_function"]["loader_module"]; got != "mlflow.lightgbm" {
		t.Errorf("python_function loader_module %v", got)
	}
	got := []string{ml.UTCTimeCreated, ml.ModelUUID, m.InputExamplePath(), m.ServingInputExamplePath(), m.Dir()}
	want := []string{"2025-01-01 00:00:00.000000", "00000000000000000000000000000000",
		filepath.Join(everyOp, "input_example.json"), filepath.Join(everyOp, "serving_input_example.json"), everyOp}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("MLmodel fields (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"store", "flag", "dow", "doy", "mon", "dom", "yr", "age"}, m.FeatureNames()); diff != "" {
		t.Errorf("feature names (-want +got):\n%s", diff)
	}
	if tr := m.Transform(); tr == nil || tr.DateFormat != "02/01/2006" || tr.Features[7].Origin != "29/02/2020" {
		t.Errorf("transform %+v", tr)
	}
	if ml.Metadata["modelgate"] == nil || m.Booster().NumTrees() != 15 {
		t.Errorf("metadata %v, %d trees", ml.Metadata, m.Booster().NumTrees())
	}
}

// TestLoad_Invalid breaks a copy of the test model in one place each.
func TestLoad_Invalid(t *testing.T) {
	tests := []struct {
		name     string
		file     string // file to edit: MLmodel or model.lgb
		old, new string
		want     string // the error message; DIR stands for the model directory
	}{
		{"UnknownOp", "MLmodel", "op: month", "op: monthly",
			`model DIR: feature_transform feature 4 ("mon"): unknown op "monthly"; supported: number, weekday, day_of_year, month, day_of_month, year, days_since`},
		{"MissingOrigin", "MLmodel", "origin: 29/02/2020", "",
			`model DIR: feature_transform feature 7 ("age"): op days_since needs an origin date in layout 02/01/2006`},
		{"BadOrigin", "MLmodel", "origin: 29/02/2020", "origin: 2020-02-29",
			`model DIR: feature_transform feature 7 ("age"): origin "2020-02-29" is not a date in layout 02/01/2006`},
		{"NameMismatch", "MLmodel", "name: dom", "name: day",
			`model DIR: feature_transform feature 5 is named "day", the booster's feature 5 is "dom"`},
		{"NoSource", "MLmodel", "source: flag", "",
			`model DIR: feature_transform feature 1 ("flag"): no source`},
		{"FeatureCount", "MLmodel", "      - name: age\n        op: days_since\n        origin: 29/02/2020\n        source: date\n", "",
			"model DIR: feature_transform declares 7 features, the booster has 8: store, flag, dow, doy, mon, dom, yr, age"},
		{"PythonLayout", "MLmodel", "date_format: 02/01/2006", "date_format: '%d/%m/%Y'",
			`model DIR: feature_transform date_format "%d/%m/%Y" is not a Go date layout with year, month and day (like 2006-01-02)`},
		{"OtherFlavor", "MLmodel", "  lightgbm:\n", "  sklearn:\n",
			"model DIR: model flavor sklearn is not supported natively; supported: lightgbm, xgboost"},
		{"Pickle", "MLmodel", "model_class: lightgbm.basic.Booster", "model_class: lightgbm.sklearn.LGBMRegressor",
			"model DIR: the lightgbm flavor holds a serialized lightgbm.sklearn.LGBMRegressor (model.lgb), which only Python can read (log the Booster (model.booster_) with mlflow.lightgbm.log_model instead)"},
		{"DataOutside", "MLmodel", "    data: model.lgb\n    lgb_version", "    data: ../model.lgb\n    lgb_version",
			`model DIR: the lightgbm flavor's data file "../model.lgb" is outside the model directory`},
		{"NotYAML", "MLmodel", "flavors:", "flavors: [",
			"model DIR: MLmodel: yaml: line 2: did not find expected ',' or ']'"},
		{"CorruptBooster", "model.lgb", "num_leaves=7", "num_leaves=seven",
			`DIR/model.lgb: line 13: tree 0: num_leaves: "seven" is not an integer >= 1`},
		{"PandasCategories", "model.lgb", "pandas_categorical:[]", `pandas_categorical:[["a", "b"]]`,
			"model DIR: a feature transform over pandas category columns is not supported; drop one of them"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := mustCopyDir(t, everyOp)
			mustEdit(t, dir, tt.file, tt.old, tt.new)
			_, err := mlmodel.Load(dir)
			wantError(t, err, modelgate.EINVALID, strings.ReplaceAll(tt.want, "DIR", dir))
		})
	}
}

func TestLoad_Missing(t *testing.T) {
	dir := t.TempDir()
	_, err := mlmodel.Load(filepath.Join(dir, "nope"))
	wantError(t, err, modelgate.ENOTFOUND, "model directory "+filepath.Join(dir, "nope")+" does not exist")
	_, err = mlmodel.Load(dir)
	wantError(t, err, modelgate.EINVALID, dir+" is not an MLflow model directory: it has no MLmodel file")
}

// TestFeatures_Errors checks the messages a caller sees for bad instances.
func TestFeatures_Errors(t *testing.T) {
	m := mustLoad(t, everyOp)
	ok := map[string]any{"store": 1.0, "flag": true, "date": "15/01/2025"}
	with := func(k string, v any) map[string]any {
		c := map[string]any{}
		for kk, vv := range ok {
			c[kk] = vv
		}
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
		return c
	}
	tests := []struct {
		name      string
		instances []any
		want      string
	}{
		{"BadDate", []any{ok, ok, ok, with("date", "01/13/2025")}, `instance 3: field "date": "01/13/2025" is not a date in layout 02/01/2006`},
		{"DateNotString", []any{with("date", 20250115.0)}, `instance 0: field "date": 2.0250115e+07 is not a date string in layout 02/01/2006`},
		{"MissingField", []any{with("flag", nil)}, `instance 0: missing field "flag"`},
		{"NotANumber", []any{ok, with("store", "abc")}, `instance 1: field "store": "abc" is not a number`},
		{"NaNWithSpace", []any{with("store", "NaN ")}, `instance 0: field "store": "NaN " is not a number`},
		{"InfinityPrefix", []any{with("store", "Infinityx")}, `instance 0: field "store": "Infinityx" is not a number`},
		{"TwoSigns", []any{with("store", "--inf")}, `instance 0: field "store": "--inf" is not a number`},
		{"NumberOverflow", []any{with("store", json.Number("1e999"))}, `instance 0: field "store": "1e999" is not a number`},
		{"ObjectValue", []any{with("store", map[string]any{})}, `instance 0: field "store": an object is not a number`},
		{"ArrayLength", []any{[]any{1.0, 2.0}}, "instance 0: want 8 feature values (store, flag, dow, doy, mon, dom, yr, age), got 2"},
		{"ArrayValue", []any{[]any{1.0, 2.0, 3.0, "x", 5.0, 6.0, 7.0, 8.0}}, `instance 0: value 3 (doy): "x" is not a number`},
		{"Scalar", []any{"store=1"}, `instance 0: want an object of fields or an array of 8 feature values, got "store=1"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows, err := m.Features(tt.instances)
			if rows != nil {
				t.Errorf("got rows %v with the error", rows)
			}
			wantError(t, err, modelgate.EINVALID, tt.want)
		})
	}
}

// TestFeatures_Values checks number conversions and that both instance
// shapes give the same row.
func TestFeatures_Values(t *testing.T) {
	m := mustLoad(t, everyOp)
	instances := []any{
		map[string]any{"store": json.Number("7"), "flag": true, "date": "29/02/2020", "extra": "ignored"},
		map[string]any{"store": " 7", "flag": false, "date": "28/02/2020"},
		map[string]any{"store": nil, "flag": "1.5", "date": "01/03/2020"},
		[]any{7.0, json.Number("1"), "4", 60, nil, false, int64(2020), float32(0.5)},
	}
	rows, err := m.Features(instances)
	want := [][]float64{
		{7, 1, 5, 60, 2, 29, 2020, 0},
		nil,
		{math.NaN(), 1.5, 6, 61, 3, 1, 2020, 1},
		{7, 1, 4, 60, math.NaN(), 0, 2020, 0.5},
	}
	if err == nil || modelgate.ErrorMessage(err) != `instance 1: field "store": " 7" is not a number` {
		t.Fatalf("got %v, want an error for \" 7\"", err)
	}
	instances[1] = map[string]any{"store": "7", "flag": false, "date": "28/02/2020"}
	want[1] = []float64{7, 0, 4, 59, 2, 28, 2020, -1}
	if rows, err = m.Features(instances); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, rows, cmpopts.EquateNaNs()); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
}

// TestFeatures_NonFiniteStrings reads NaN and ±Infinity from strings as
// MLflow's scoring server does (Python's float()), in fields and arrays;
// JSON has no number for them.
func TestFeatures_NonFiniteStrings(t *testing.T) {
	m := mustLoad(t, everyOp)
	inf, nan := math.Inf(1), math.NaN()
	for _, tc := range []struct {
		in   string
		want float64
	}{
		{"NaN", nan}, {"nan", nan}, {"-NaN", nan}, {"Infinity", inf}, {"-Infinity", -inf}, {"+Infinity", inf},
		{"inf", inf}, {"-inf", -inf}, {"INF", inf}, {"iNfInItY", inf},
	} {
		rows, err := m.Features([]any{
			map[string]any{"store": tc.in, "flag": tc.in, "date": "15/01/2025"},
			[]any{tc.in, 1.0, 2.0, 15.0, 1.0, 15.0, 2025.0, tc.in},
		})
		if err != nil {
			t.Fatalf("%q: %v", tc.in, err)
		}
		got := []float64{rows[0][0], rows[0][1], rows[1][0], rows[1][7]}
		if diff := cmp.Diff([]float64{tc.want, tc.want, tc.want, tc.want}, got, cmpopts.EquateNaNs()); diff != "" {
			t.Errorf("%q (-want +got):\n%s", tc.in, diff)
		}
	}
}

// TestFeatures_NoTransform looks fields up by feature name when MLmodel
// declares no transform.
func TestFeatures_NoTransform(t *testing.T) {
	dir := mustCopyDir(t, everyOp)
	mustEdit(t, dir, "MLmodel", "  modelgate:\n", "  other:\n")
	m := mustLoad(t, dir)
	if m.Transform() != nil {
		t.Fatal("got a transform")
	}
	inst := map[string]any{"store": 3.0, "flag": 1.0, "dow": 2.0, "doy": 40.0, "mon": 2.0, "dom": 9.0, "yr": 2025.0}
	_, err := m.Features([]any{inst})
	wantError(t, err, modelgate.EINVALID, `instance 0: missing field "age"`)
	inst["age"] = 1806.0
	rows, err := m.Features([]any{inst})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([][]float64{{3, 1, 2, 40, 2, 9, 2025, 1806}}, rows); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
}

func TestPredict_WrongWidth(t *testing.T) {
	m := mustLoad(t, everyOp)
	_, err := m.Predict([][]float64{make([]float64, 8), make([]float64, 3)})
	wantError(t, err, modelgate.EINVALID, "row 1: want 8 feature values (store, flag, dow, doy, mon, dom, yr, age), got 3")
}

// TestFeatures_DefaultLayoutMessage checks the exact message of the
// playbook's date layout.
func TestFeatures_DefaultLayoutMessage(t *testing.T) {
	dir := mustCopyDir(t, everyOp)
	mustEdit(t, dir, "MLmodel", "date_format: 02/01/2006", "date_format: '2006-01-02'")
	mustEdit(t, dir, "MLmodel", "origin: 29/02/2020", "origin: 2020-02-29")
	m := mustLoad(t, dir)
	ok := map[string]any{"store": 42.0, "flag": 1.0, "date": "2025-01-15"}
	bad := map[string]any{"store": 42.0, "flag": 1.0, "date": "2025-13-01"}
	_, err := m.Features([]any{ok, ok, ok, bad})
	wantError(t, err, modelgate.EINVALID, `instance 3: field "date": "2025-13-01" is not a date in layout 2006-01-02`)
	rows, err := m.Features([]any{ok})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([][]float64{{42, 1, 2, 15, 1, 15, 2025, 1782}}, rows); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
}
