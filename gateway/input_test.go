package gateway_test

import (
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/gateway"
	"github.com/modelgate/modelgate/mlmodel"
)

// exampleGateway serves a copy of the example's v2, its MLmodel edited by
// edit, with the real model loader.
func exampleGateway(t *testing.T, edit func(mlmodel string) string) *testEnv {
	return exampleGatewayEdited(t, map[string]func(string) string{"MLmodel": edit})
}

// exampleGatewayEdited is exampleGateway editing any of v2's files.
func exampleGatewayEdited(t *testing.T, edits map[string]func(string) string) *testEnv {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "v2")
	if err := os.CopyFS(dir, os.DirFS("../examples/demand-forecast/models/v2")); err != nil {
		t.Fatal(err)
	}
	for name, edit := range edits {
		path := filepath.Join(dir, name)
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(edit(string(b))), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	e := newTestEnv(t, func(o *gateway.Options) {
		o.Loader = func(dir string) (gateway.Model, error) { return mlmodel.Load(dir) }
	})
	digest, err := modelgate.DirDigest(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.dep.SetStable(t.Context(), modelgate.Deployment{Model: "iris", Version: "2", ModelDir: dir, Digest: digest}); err != nil {
		t.Fatal(err)
	}
	return e
}

// A boolean or null for a numeric feature is refused unless the model's
// signature declares it; fields the model does not read are ignored; NaN
// and ±Infinity come as the strings MLflow's scoring server reads.
func TestInputTypes_Strict(t *testing.T) {
	e := exampleGateway(t, func(s string) string { return s })
	tests := []struct {
		name, instance string
		status         int
		want           string
	}{
		{"Numbers", `{"store_id": 42, "date": "2025-01-15", "promo": 1}`, 200, ""},
		{"ExtraFieldsIgnored", `{"store_id": 42, "date": "2025-01-15", "promo": 1, "note": null, "vip": true}`, 200, ""},
		{"Bool", `{"store_id": 42, "date": "2025-01-15", "promo": true}`, 400,
			`instance 0: field "promo": true is a boolean, not a number (the model's signature does not declare "promo" boolean)`},
		{"Null", `{"store_id": null, "date": "2025-01-15", "promo": 0}`, 400,
			`instance 0: field "store_id": null is not a number (the model's signature does not declare "store_id" optional with required: false)`},
		{"ArrayBool", `[42, false, 2, 15, 1]`, 400, `instance 0: value 1 (promo): false is a boolean, not a number`},
		{"NonFiniteStrings", `{"store_id": "NaN", "date": "2025-01-15", "promo": "-Infinity"}`, 200, ""},
		{"ArrayNonFiniteStrings", `["Infinity", "NaN", 2, 15, 1]`, 200, ""},
		{"OtherString", `{"store_id": "n/a", "date": "2025-01-15", "promo": 0}`, 400, `instance 0: field "store_id": "n/a" is not a number`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.call(http.MethodPost, "/v1/models/iris:predict", `{"instances": [`+tt.instance+`]}`, nil)
			if r.Status != tt.status || (tt.want != "" && !strings.HasPrefix(errorOf(t, r), tt.want)) {
				t.Errorf("got %d %s, want %d %q", r.Status, r.Body, tt.status, tt.want)
			}
		})
	}
	v2 := `{"inputs": [{"name": "store_id", "shape": [1], "datatype": "FP64", "data": [42]},
		{"name": "date", "shape": [1], "datatype": "BYTES", "data": ["2025-01-15"]},
		{"name": "promo", "shape": [1], "datatype": "BOOL", "data": [true]}]}`
	if r := e.call(http.MethodPost, "/v2/models/iris/infer", v2, nil); r.Status != 400 || !strings.Contains(r.Body, `field \"promo\": true is a boolean`) {
		t.Errorf("V2 BOOL for a numeric feature: %d %s", r.Status, r.Body)
	}
}

// A signature declaring a column boolean, or optional, lets those through.
func TestInputTypes_Declared(t *testing.T) {
	e := exampleGateway(t, func(s string) string {
		s = strings.Replace(s, `{"type": "double", "name": "store_id", "required": true}`, `{"type": "double", "name": "store_id", "required": false}`, 1)
		return strings.Replace(s, `{"type": "double",
    "name": "promo", "required": true}`, `{"type": "boolean", "name": "promo", "required": true}`, 1)
	})
	body := `{"instances": [{"store_id": null, "date": "2025-01-15", "promo": true}]}`
	if r := e.call(http.MethodPost, "/v1/models/iris:predict", body, nil); r.Status != 200 {
		t.Errorf("declared boolean and optional: %+v", r)
	}
}

// A pandas category column holds labels: null is a missing value and a
// boolean may be a label, as LightGBM's Python predict reads them, even
// when no signature declares the column optional. Its other features stay
// strictly numeric.
func TestInputTypes_CategoryColumn(t *testing.T) {
	e := exampleGatewayEdited(t, map[string]func(string) string{
		"MLmodel": func(s string) string { // the booster's own features, no signature
			s = s[:strings.Index(s, "metadata:")] + s[strings.Index(s, "mlflow_version:"):]
			return s[:strings.Index(s, "signature:")] + s[strings.Index(s, "type_hint_from_example:"):]
		},
		"model.lgb": func(s string) string {
			labels := make([]string, 41)
			for i := range labels {
				labels[i] = strconv.Quote("s" + strconv.Itoa(i))
			}
			return strings.Replace(s, "pandas_categorical:[]", "pandas_categorical:[["+strings.Join(labels, ",")+"]]", 1)
		},
	})
	row := `"promo": 0, "day_of_week": 2, "day_of_year": 15, "month": 1`
	tests := []struct {
		name, instance string
		status         int
	}{
		{"Label", `{"store_id": "s7", ` + row + `}`, 200},
		{"NullLabel", `{"store_id": null, ` + row + `}`, 200},
		{"BoolLabel", `{"store_id": true, ` + row + `}`, 200},
		{"NullNumber", `{"store_id": "s7", "promo": null, "day_of_week": 2, "day_of_year": 15, "month": 1}`, 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if r := e.call(http.MethodPost, "/v1/models/iris:predict", `{"instances": [`+tt.instance+`]}`, nil); r.Status != tt.status {
				t.Errorf("got %d %s, want %d", r.Status, r.Body, tt.status)
			}
		})
	}
}
