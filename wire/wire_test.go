package wire_test

import (
	"encoding/json"
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/wire"
)

func TestNonFiniteAsStrings(t *testing.T) {
	got := string(wire.NonFiniteAsStrings([]byte(`{"a":[NaN,-Infinity,Infinity,1],"s":"NaN \"x\" Infinity"}`)))
	want := `{"a":["NaN","-Infinity","Infinity",1],"s":"NaN \"x\" Infinity"}`
	if got != want {
		t.Fatalf("got %s\nwant %s", got, want)
	}
}

func TestTensorsFromInstances(t *testing.T) {
	got, err := wire.TensorsFromInstances([]any{
		map[string]any{"store_id": 42.0, "date": "2025-01-15"},
		map[string]any{"store_id": 1.0, "date": "2025-01-16"},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []wire.Tensor{
		{Name: "date", Shape: []int64{2}, Datatype: "BYTES", Data: []any{"2025-01-15", "2025-01-16"}},
		{Name: "store_id", Shape: []int64{2}, Datatype: "FP64", Data: []any{42.0, 1.0}},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatal(d)
	}
	m, err := wire.TensorsFromInstances([]any{[]any{1.0, 2.0}, []any{3.0, 4.0}})
	if err != nil || m[0].Datatype != "FP64" || !cmp.Equal(m[0].Shape, []int64{2, 2}) {
		t.Fatalf("matrix %+v %v", m, err)
	}
	if _, err := wire.TensorsFromInstances([]any{[]any{1.0}, []any{1.0, 2.0}}); err == nil {
		t.Fatal("ragged rows accepted")
	}
}

// TestInstances_RoundTrip: what a client encodes, a server decodes back
// into the same instances (booleans as 1 and 0).
func TestInstances_RoundTrip(t *testing.T) {
	tests := []struct {
		name      string
		instances []any
		want      []any
	}{
		{"Matrix", []any{[]any{1.0, 2.0}, []any{3.0, 4.0}}, nil},
		{"Fields", []any{
			map[string]any{"store_id": 42.0, "date": "2025-01-15", "promo": true},
			map[string]any{"store_id": 1.0, "date": "2025-01-16", "promo": false},
		}, []any{
			map[string]any{"store_id": 42.0, "date": "2025-01-15", "promo": 1.0},
			map[string]any{"store_id": 1.0, "date": "2025-01-16", "promo": 0.0},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tensors, err := wire.TensorsFromInstances(tt.instances)
			if err != nil {
				t.Fatal(err)
			}
			got, err := wire.Instances(overJSON(t, tensors), nil)
			if err != nil {
				t.Fatal(err)
			}
			want := tt.want
			if want == nil {
				want = tt.instances
			}
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}

// overJSON sends tensors through JSON, as they travel.
func overJSON(t *testing.T, tensors []wire.Tensor) []wire.Tensor {
	t.Helper()
	b, err := json.Marshal(wire.V2Request{Inputs: tensors})
	if err != nil {
		t.Fatal(err)
	}
	var req wire.V2Request
	if err := json.Unmarshal(b, &req); err != nil {
		t.Fatal(err)
	}
	return req.Inputs
}

// TestInstances_StrictAndLogged: a server refuses what it cannot read; a
// logged body of the same shape is read as far as it goes.
func TestInstances_StrictAndLogged(t *testing.T) {
	column := `{"inputs": [{"name": "x", "shape": [2, 1], "datatype": "FP64", "data": [[1], [2]]}]}`
	var req wire.V2Request
	if err := json.Unmarshal([]byte(column), &req); err != nil {
		t.Fatal(err)
	}
	if got, err := wire.Instances(req.Inputs, []string{"x"}); err != nil || !cmp.Equal(got, []any{map[string]any{"x": 1.0}, map[string]any{"x": 2.0}}) {
		t.Errorf("[N, 1] feature: %v %v", got, err)
	}
	if got, err := wire.Instances(req.Inputs, nil); err != nil || !cmp.Equal(got, []any{[]any{1.0}, []any{2.0}}) {
		t.Errorf("[N, 1] matrix: %v %v", got, err)
	}
	if got, err := wire.LoggedInstances([]byte(column)); err != nil || !cmp.Equal(got, []any{map[string]any{"x": 1.0}, map[string]any{"x": 2.0}}) {
		t.Errorf("logged [N, 1]: %v %v", got, err)
	}

	image := `{"inputs": [{"name": "x", "shape": [1], "datatype": "FP64", "data": [1]},
	                      {"name": "img", "shape": [1, 2, 2], "datatype": "UINT8", "data": [1, 2, 3, 4]}]}`
	if err := json.Unmarshal([]byte(image), &req); err != nil {
		t.Fatal(err)
	}
	_, err := wire.Instances(req.Inputs, nil)
	if modelgate.ErrorMessage(err) != `input "img": shape [1, 2, 2] is neither [N] nor [N, 1]` {
		t.Errorf("strict image: %v", err)
	}
	if got, err := wire.LoggedInstances([]byte(image)); err != nil || !cmp.Equal(got, []any{map[string]any{"x": 1.0}}) {
		t.Errorf("logged image: %v %v", got, err)
	}
}

func TestDecodeAnswers(t *testing.T) {
	preds, err := wire.DecodeV1Predictions([]byte(`{"predictions": [1.5, NaN, null]}`))
	if err != nil || len(preds) != 3 || preds[0] != 1.5 || !math.IsNaN(preds[1]) || !math.IsNaN(preds[2]) {
		t.Errorf("V1: %v %v", preds, err)
	}
	if _, err := wire.DecodeV1Predictions([]byte(`{"outputs": []}`)); modelgate.ErrorMessage(err) != `no "predictions"` {
		t.Errorf("V1 without predictions: %v", err)
	}
	res, err := wire.DecodeV2Response([]byte(`{"model_name":"m","outputs":[{"name":"p","datatype":"FP64","shape":[2,1],"data":[[1],[Infinity]]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if preds, err := res.Predictions(); err != nil || len(preds) != 2 || !math.IsInf(preds[1], 1) {
		t.Errorf("V2: %v %v", preds, err)
	}
	res.Outputs = append(res.Outputs, res.Outputs[0])
	if _, err := res.Predictions(); modelgate.ErrorMessage(err) != "2 outputs and none is named predict" {
		t.Errorf("V2 with two outputs: %v", err)
	}
}

func TestLoggedPredictions(t *testing.T) {
	tests := []struct {
		body string
		want []float64
	}{
		{`{"predictions": [1, [2], true]}`, []float64{1, 2, 1}},
		{`{"outputs": [{"name": "output-0", "shape": [2, 1], "datatype": "FP32", "data": [3, 4]}, {"name": "p"}]}`, []float64{3, 4}},
	}
	for _, tt := range tests {
		if got, err := wire.LoggedPredictions([]byte(tt.body)); err != nil || !cmp.Equal(got, tt.want) {
			t.Errorf("%s: %v %v", tt.body, got, err)
		}
	}
	if _, err := wire.LoggedPredictions([]byte(`{"predictions": ["setosa"]}`)); err == nil {
		t.Error("class names accepted")
	}
}
