package gateway_test

import (
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestV2_Infer(t *testing.T) {
	e := newTestEnv(t, nil)
	e.register("1", 1)
	e.mustSetStable("1")

	tests := []struct {
		name, body, want string
	}{
		{"PerFeature",
			`{"inputs": [{"name": "x", "shape": [2], "datatype": "FP64", "data": [3, 2]},
			             {"name": "y", "shape": [2], "datatype": "INT64", "data": [1, 5]}]}`,
			`[2,-3]`},
		{"PerFeatureColumn",
			`{"inputs": [{"name": "x", "shape": [2, 1], "datatype": "FP32", "data": [[3], [2]]},
			             {"name": "y", "shape": [2, 1], "datatype": "INT32", "data": [[1], [5]]}]}`,
			`[2,-3]`},
		{"Bytes",
			`{"inputs": [{"name": "x", "shape": [2], "datatype": "FP32", "data": [5, 40]},
			             {"name": "date", "shape": [2], "datatype": "BYTES", "data": ["2026-01-03", "2026-02-28"]}]}`,
			`[2,12]`},
		{"Matrix",
			`{"inputs": [{"name": "input-0", "shape": [2, 2], "datatype": "FP64", "data": [[3, 1], [2, 5]]}]}`,
			`[2,-3]`},
		{"MatrixFlat",
			`{"inputs": [{"name": "input-0", "shape": [2, 2], "datatype": "FP32", "data": [3, 1, 2, 5]}]}`,
			`[2,-3]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := e.call(http.MethodPost, "/v2/models/iris/infer", tt.body, nil)
			want := `{"model_name":"iris","model_version":"1","outputs":[{"name":"predict","datatype":"FP64","shape":[2],"data":` + tt.want + `}]}`
			if diff := cmp.Diff(response{200, "1", want}, got); diff != "" {
				t.Errorf("answer (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("ID", func(t *testing.T) {
		body := `{"id": "42", "inputs": [{"name": "input-0", "shape": [1, 2], "datatype": "FP64", "data": [1, 1]}]}`
		got := decode[struct{ ID string }](t, e.call(http.MethodPost, "/v2/models/iris/infer", body, nil))
		if got.ID != "42" {
			t.Errorf("id = %q, want 42", got.ID)
		}
	})
}

func TestV2_Metadata(t *testing.T) {
	e := newTestEnv(t, nil)
	e.register("1", 1)
	e.register("2", 2)
	e.mustSetStable("1")
	e.mustStartCanary("2", 10)

	got := e.call(http.MethodGet, "/v2/models/iris", nil, nil)
	want := response{200, "1", `{"name":"iris","versions":["1","2"],"platform":"modelgate",` +
		`"inputs":[{"name":"x","datatype":"FP64","shape":[-1]},{"name":"y","datatype":"FP64","shape":[-1]}],` +
		`"outputs":[{"name":"predict","datatype":"FP64","shape":[-1]}]}`}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("metadata (-want +got):\n%s", diff)
	}

	checks := []struct {
		path string
		want response
	}{
		{"/v2/models/iris/ready", response{200, "1", `{"name":"iris","ready":true}`}},
		{"/v2/models/rose/ready", response{404, "", `{"error":"model \"rose\" is not served"}`}},
		{"/staging/v2/models/iris/ready", response{404, "", `{"error":"model \"iris\" is not served in staging"}`}},
		{"/v2/models/rose", response{404, "", `{"error":"model \"rose\" is not served"}`}},
		{"/v2/health/live", response{200, "", `{"live":true}`}},
		{"/v2/health/ready", response{200, "", `{"ready":true}`}},
		{"/staging/v2/health/ready", response{200, "", `{"ready":true}`}},
	}
	for _, c := range checks {
		if diff := cmp.Diff(c.want, e.call(http.MethodGet, c.path, nil, nil)); diff != "" {
			t.Errorf("GET %s (-want +got):\n%s", c.path, diff)
		}
	}

	e.srv.Close()
	if got := e.call(http.MethodGet, "/v2/health/ready", nil, nil); got.Status != 503 {
		t.Errorf("ready after Close: %d, want 503", got.Status)
	}
}

func TestV2_Errors(t *testing.T) {
	e := newTestEnv(t, nil)
	e.register("1", 1)
	e.mustSetStable("1")

	tests := []struct {
		name, body string
		want       string
	}{
		{"NoInputs", `{"inputs": []}`, `request has no "inputs"`},
		{"Datatype", `{"inputs": [{"name": "x", "shape": [1], "datatype": "FP8", "data": [1]}]}`,
			`input "x": datatype "FP8" is not supported`},
		{"ShapeVsData", `{"inputs": [{"name": "x", "shape": [3], "datatype": "FP64", "data": [1, 2]}]}`,
			`input "x": shape [3] holds 3 values but data has 2`},
		{"NotANumber", `{"inputs": [{"name": "x", "shape": [2], "datatype": "FP64", "data": [1, "a"]}]}`,
			`input "x": value 1 is "a", not a number as FP64 requires`},
		{"Null", `{"inputs": [{"name": "x", "shape": [2], "datatype": "FP32", "data": [1, null]}]}`,
			`input "x": value 1 is null, not a number as FP32 requires`},
		{"NotAString", `{"inputs": [{"name": "date", "shape": [1], "datatype": "BYTES", "data": [3]}]}`,
			`input "date": value 0 is 3, not a string as BYTES requires`},
		{"NotABool", `{"inputs": [{"name": "b", "shape": [1], "datatype": "BOOL", "data": [3]}]}`,
			`input "b": value 0 is 3, not true or false as BOOL requires`},
		{"Rows", `{"inputs": [{"name": "x", "shape": [2], "datatype": "FP64", "data": [1, 2]},
		                      {"name": "y", "shape": [3], "datatype": "FP64", "data": [1, 2, 3]}]}`,
			`inputs disagree on the number of rows: "x" has 2, "y" has 3`},
		{"Duplicate", `{"inputs": [{"name": "x", "shape": [1], "datatype": "FP64", "data": [1]},
		                           {"name": "x", "shape": [1], "datatype": "FP64", "data": [1]}]}`,
			`input "x": appears more than once`},
		{"Shape", `{"inputs": [{"name": "x", "shape": [1, 2], "datatype": "FP64", "data": [1, 2]},
		                       {"name": "y", "shape": [1], "datatype": "FP64", "data": [1]}]}`,
			`input "x": shape [1, 2] is neither [N] nor [N, 1]`},
		{"Negative", `{"inputs": [{"name": "x", "shape": [-1], "datatype": "FP64", "data": [1]}]}`,
			`input "x": shape [-1] has a negative dimension`},
		{"ModelRejects", `{"inputs": [{"name": "y", "shape": [1], "datatype": "FP64", "data": [1]}]}`,
			`instance 0: feature "x" is missing or not a number`},
		{"MatrixWidth", `{"inputs": [{"name": "input-0", "shape": [1, 3], "datatype": "FP64", "data": [1, 2, 3]}]}`,
			`instance 0: has 3 values, want 2`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := e.call(http.MethodPost, "/v2/models/iris/infer", tt.body, nil)
			if got.Status != 400 || errorOf(t, got) != tt.want {
				t.Errorf("got %d %s, want 400 %q", got.Status, got.Body, tt.want)
			}
			if got.Version != "1" {
				t.Errorf("X-Model-Version = %q, want 1", got.Version)
			}
		})
	}
	got := e.call(http.MethodPost, "/v2/models/rose/infer", `{}`, nil)
	if got.Status != 404 || errorOf(t, got) != `model "rose" is not served` {
		t.Errorf("unknown model: got %d %s", got.Status, got.Body)
	}
}
