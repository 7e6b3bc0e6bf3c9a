package gateway_test

import (
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestV1_Predict(t *testing.T) {
	e := newTestEnv(t, nil)
	e.register("1", 1)
	e.mustSetStable("1")

	t.Run("ObjectsAndArrays", func(t *testing.T) {
		body := map[string]any{"instances": []any{
			map[string]any{"x": 3, "y": 1},
			[]any{2, 5},
		}}
		got := e.call(http.MethodPost, "/v1/models/iris:predict", body, nil)
		want := response{Status: 200, Version: "1", Body: `{"predictions":[2,-3]}`}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("answer (-want +got):\n%s", diff)
		}
	})
	t.Run("Inputs", func(t *testing.T) {
		got := e.call(http.MethodPost, "/v1/models/iris:predict", `{"inputs": [[4, 1]]}`, nil)
		if got.Status != 200 || got.Body != `{"predictions":[3]}` {
			t.Errorf("got %+v", got)
		}
	})
	t.Run("Model", func(t *testing.T) {
		got := e.call(http.MethodGet, "/v1/models/iris", nil, nil)
		want := response{Status: 200, Version: "1", Body: `{"name":"iris","ready":true}`}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("answer (-want +got):\n%s", diff)
		}
	})
}

func TestV1_Staging(t *testing.T) {
	e := newTestEnv(t, nil)
	e.register("1", 1)
	e.register("2", 10)
	e.mustSetStable("1")
	if _, err := e.dep.DeployStaging(t.Context(), deployment("2"), 0); err != nil {
		t.Fatalf("DeployStaging: %v", err)
	}

	body := `{"instances": [{"x": 1, "y": 1}]}`
	got := e.call(http.MethodPost, "/staging/v1/models/iris:predict", body, nil)
	if diff := cmp.Diff(response{200, "2", `{"predictions":[9]}`}, got); diff != "" {
		t.Errorf("staging (-want +got):\n%s", diff)
	}
	got = e.call(http.MethodPost, "/v1/models/iris:predict", body, nil)
	if diff := cmp.Diff(response{200, "1", `{"predictions":[0]}`}, got); diff != "" {
		t.Errorf("production (-want +got):\n%s", diff)
	}

	w, err := e.metrics.Observe(t.Context(), "iris")
	if err != nil {
		t.Fatal(err)
	}
	if w.Stable.Requests != 1 {
		t.Errorf("stable requests = %d, want 1 (staging is not measured)", w.Stable.Requests)
	}
}

func TestV1_Errors(t *testing.T) {
	e := newTestEnv(t, nil)
	e.register("1", 1).PredictFn = func(rows [][]float64) ([]float64, error) {
		if rows[0][0] == 13 {
			return nil, errString("weights file is corrupt")
		}
		return make([]float64, len(rows)), nil
	}
	e.mustSetStable("1")

	tests := []struct {
		name, path, body string
		status           int
		want             string
	}{
		{"BadJSON", "/v1/models/iris:predict", `{"instances": [`, 400, "request body is not valid JSON: unexpected EOF"},
		{"EmptyBody", "/v1/models/iris:predict", ``, 400, "request body is empty"},
		{"TwoValues", "/v1/models/iris:predict", `{} {}`, 400, "request body holds more than one JSON value"},
		{"NoInstances", "/v1/models/iris:predict", `{}`, 400, `request has no "instances"`},
		{"EmptyInstances", "/v1/models/iris:predict", `{"instances": []}`, 400, "request has no instances"},
		{"MissingFeature", "/v1/models/iris:predict", `{"instances": [{"y": 1}]}`, 400, `instance 0: feature "x" is missing or not a number`},
		{"WrongWidth", "/v1/models/iris:predict", `{"instances": [[1, 2], [1]]}`, 400, "instance 1: has 1 values, want 2"},
		{"ModelFailure", "/v1/models/iris:predict", `{"instances": [[13, 2]]}`, 500, "predict: weights file is corrupt"},
		{"UnknownModel", "/v1/models/rose:predict", `{"instances": [[1, 2]]}`, 404, `model "rose" is not served`},
		{"UnknownVerb", "/v1/models/iris:explain", `{"instances": [[1, 2]]}`, 404, "no route for POST /v1/models/iris:explain"},
		{"NotInStaging", "/staging/v1/models/iris:predict", `{"instances": [[1, 2]]}`, 404, `model "iris" is not served in staging`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := e.call(http.MethodPost, tt.path, tt.body, nil)
			if got.Status != tt.status || errorOf(t, got) != tt.want {
				t.Errorf("got %d %s, want %d %q", got.Status, got.Body, tt.status, tt.want)
			}
		})
	}
	if got := e.call(http.MethodGet, "/v1/models/rose", nil, nil); got.Status != 404 {
		t.Errorf("GET unknown model: %d, want 404", got.Status)
	}
}

type errString string

func (e errString) Error() string { return string(e) }
