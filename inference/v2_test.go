package inference_test

import (
	"context"
	"math"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/inference"
)

func TestNonFiniteAsStrings(t *testing.T) {
	got := string(inference.NonFiniteAsStrings([]byte(`{"a":[NaN,-Infinity,Infinity,1],"s":"NaN \"x\" Infinity"}`)))
	want := `{"a":["NaN","-Infinity","Infinity",1],"s":"NaN \"x\" Infinity"}`
	if got != want {
		t.Fatalf("got %s\nwant %s", got, want)
	}
}

func TestTensorsFromInstances(t *testing.T) {
	got, err := inference.TensorsFromInstances([]any{
		map[string]any{"store_id": 42.0, "date": "2025-01-15"},
		map[string]any{"store_id": 1.0, "date": "2025-01-16"},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []inference.Tensor{
		{Name: "date", Shape: []int64{2}, Datatype: "BYTES", Data: []any{"2025-01-15", "2025-01-16"}},
		{Name: "store_id", Shape: []int64{2}, Datatype: "FP64", Data: []any{42.0, 1.0}},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatal(d)
	}
	m, err := inference.TensorsFromInstances([]any{[]any{1.0, 2.0}, []any{3.0, 4.0}})
	if err != nil || m[0].Datatype != "FP64" || !cmp.Equal(m[0].Shape, []int64{2, 2}) {
		t.Fatalf("matrix %+v %v", m, err)
	}
	if _, err := inference.TensorsFromInstances([]any{[]any{1.0}, []any{1.0, 2.0}}); err == nil {
		t.Fatal("ragged rows accepted")
	}
}

func TestInfer(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v2/models/m/infer" {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write([]byte(`{"model_name":"m","model_version":"3","outputs":[{"name":"predict","datatype":"FP64","shape":[2],"data":[[1.5],[NaN]]}]}`))
	}))
	defer srv.Close()
	res, err := inference.Client{}.Infer(context.Background(), modelgate.Endpoint{URL: srv.URL, Name: "m"}, inference.V2Request{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != 200 || res.ModelVersion != "3" || len(res.Predictions) != 2 || res.Predictions[0] != 1.5 || !math.IsNaN(res.Predictions[1]) {
		t.Fatalf("result %+v", res)
	}
	_, err = inference.Client{}.Metadata(context.Background(), modelgate.Endpoint{URL: srv.URL, Name: "m"})
	if modelgate.ErrorCode(err) != modelgate.ENOTFOUND {
		t.Fatalf("metadata of a server without it: %v", err)
	}
}
