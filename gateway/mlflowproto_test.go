package gateway_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/gateway"
)

// TestUpstreamMLflow talks to a stand-in for MLflow's scoring server: it
// checks the readiness route, the body each kind of instance is sent as,
// the decoding of the predictions and of MLflow's error answer. Real
// MLflow serves in cmd/modelgate's TestMLflowScoringServer.
func TestUpstreamMLflow(t *testing.T) {
	var bodies []string
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ping", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("\n")) })
	mux.HandleFunc("POST /invocations", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		bodies = append(bodies, string(b))
		var req map[string][]any
		_ = json.Unmarshal(b, &req)
		if len(req["dataframe_records"]) == 3 {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"error_code": "BAD_REQUEST", "message": "Incompatible input types for column x"}`))
			return
		}
		_, _ = w.Write([]byte(`{"predictions": [1.5, 2.5]}`))
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	u, err := gateway.StartUpstream(context.Background(), gateway.UpstreamSpec{URL: srv.URL, Protocol: gateway.UpstreamMLflow},
		modelgate.Deployment{Model: "m", Version: "1"})
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	ctx := context.Background()
	got, err := u.PredictInstances(ctx, []any{map[string]any{"x": 1.0}, map[string]any{"x": 2.0}})
	if err != nil || !cmp.Equal(got, []float64{1.5, 2.5}) {
		t.Errorf("records: got %v, %v", got, err)
	}
	if _, err = u.PredictInstances(ctx, []any{[]any{1.0}, []any{2.0}}); err != nil {
		t.Errorf("arrays: %v", err)
	}
	named, err := gateway.StartUpstream(context.Background(), gateway.UpstreamSpec{URL: srv.URL, Protocol: gateway.UpstreamMLflow, Features: columns{"x"}},
		modelgate.Deployment{Model: "m", Version: "1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err = named.PredictInstances(ctx, []any{[]any{1.0}, []any{2.0}}); err != nil {
		t.Errorf("arrays with column names: %v", err)
	}
	want := []string{`{"dataframe_records":[{"x":1},{"x":2}]}`, `{"instances":[[1],[2]]}`, `{"dataframe_split":{"columns":["x"],"data":[[1],[2]]}}`}
	if diff := cmp.Diff(want, bodies); diff != "" {
		t.Errorf("bodies (-want +got):\n%s", diff)
	}
	_, err = u.PredictInstances(ctx, []any{map[string]any{"x": "a"}, map[string]any{}, map[string]any{}})
	if modelgate.ErrorCode(err) != modelgate.EINVALID || modelgate.ErrorMessage(err) != "upstream "+srv.URL+" answered 400: BAD_REQUEST: Incompatible input types for column x" {
		t.Errorf("MLflow's error: got %v", err)
	}
}

// columns is a Features model that only names columns.
type columns []string

func (c columns) FeatureNames() []string                 { return c }
func (c columns) Features([]any) ([][]float64, error)    { return nil, nil }
func (c columns) Predict([][]float64) ([]float64, error) { return nil, nil }
