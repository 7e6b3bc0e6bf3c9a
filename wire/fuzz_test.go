package wire_test

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/modelgatetest"
	"github.com/modelgate/modelgate/wire"
)

// fuzzFeatures are the demand-forecast model's features: an [N, 1] tensor
// named like one of them is a field, not a matrix.
var fuzzFeatures = []string{"store_id", "promo", "day_of_week", "month"}

// FuzzDecodeRequest reads a body as every decoder of this package does, as
// the gateway (V1 and V2 requests), the payload receiver (logged bodies) and
// the clients (answers) do. Properties: nothing panics or allocates far more
// than the body's size; errors are *modelgate.Error EINVALID; an accepted V2
// request yields as many rows as its shapes declare; and instances the
// client encodes (TensorsFromInstances) decode back, over JSON, into the
// same rows (booleans as 1 and 0) whenever they hold only what a typed
// tensor can carry. Seeds: testdata/fuzz/FuzzDecodeRequest.
func FuzzDecodeRequest(f *testing.F) {
	f.Fuzz(func(t *testing.T, body []byte) {
		modelgatetest.WantBoundedAlloc(t, len(body), func() { decodeAll(t, body) })
	})
}

func decodeAll(t *testing.T, body []byte) {
	var v1 wire.V1Request
	if json.Unmarshal(body, &v1) == nil {
		if instances, err := v1.InstancesOrInputs(); err == nil {
			checkRoundTrip(t, instances)
		} else {
			checkInvalid(t, "InstancesOrInputs", err)
		}
	}
	var v2 wire.V2Request
	if json.Unmarshal(body, &v2) == nil {
		rows, err := wire.Instances(v2.Inputs, fuzzFeatures)
		if err == nil {
			checkRows(t, v2.Inputs, rows)
			checkRoundTrip(t, rows)
		} else {
			checkInvalid(t, "Instances", err)
		}
	}
	_, err := wire.LoggedInstances(body)
	checkInvalid(t, "LoggedInstances", err)
	_, err = wire.LoggedPredictions(body)
	checkInvalid(t, "LoggedPredictions", err)
	_, err = wire.DecodeV1Predictions(body)
	checkInvalid(t, "DecodeV1Predictions", err)
	if res, err := wire.DecodeV2Response(body); err == nil {
		_, err = res.Predictions()
		checkInvalid(t, "Predictions", err)
	} else {
		checkInvalid(t, "DecodeV2Response", err)
	}
}

// checkInvalid fails unless err is nil or an EINVALID *modelgate.Error.
func checkInvalid(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil && modelgate.ErrorCode(err) != modelgate.EINVALID {
		t.Fatalf("%s: error %v (%T) is not EINVALID", what, err, err)
	}
}

// checkRows: the rows of an accepted V2 request are as many as its shapes
// declare, each as wide as the matrix or holding every field.
func checkRows(t *testing.T, inputs []wire.Tensor, rows []any) {
	t.Helper()
	if want := inputs[0].Shape[0]; int64(len(rows)) != want {
		t.Fatalf("shape %v declares %d rows, got %d", inputs[0].Shape, want, len(rows))
	}
	for i, row := range rows {
		switch row := row.(type) {
		case []any:
			if int64(len(row)) != inputs[0].Shape[1] {
				t.Fatalf("row %d has %d values, shape %v", i, len(row), inputs[0].Shape)
			}
		case map[string]any:
			if len(row) != len(inputs) {
				t.Fatalf("row %d has %d fields, the request %d inputs", i, len(row), len(inputs))
			}
		default:
			t.Fatalf("row %d is %T", i, row)
		}
	}
}

// checkRoundTrip sends instances as a client does and reads them back as
// the gateway does, when they fit typed tensors (fitTensors).
func checkRoundTrip(t *testing.T, instances []any) {
	t.Helper()
	tensors, err := wire.TensorsFromInstances(instances)
	if err != nil {
		checkInvalid(t, "TensorsFromInstances", err)
		return
	}
	if !fitTensors(instances) {
		return
	}
	b, err := json.Marshal(wire.V2Request{Inputs: tensors})
	if err != nil {
		t.Fatalf("encode %v: %v", tensors, err)
	}
	var req wire.V2Request
	if err := json.Unmarshal(b, &req); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	got, err := wire.Instances(req.Inputs, fuzzFeatures)
	if err != nil {
		t.Fatalf("instances %v encoded as %s do not decode: %v", instances, b, err)
	}
	if d := cmp.Diff(boolsAsNumbers(instances), got, cmpopts.EquateEmpty()); d != "" {
		t.Fatalf("round trip through %s (-sent +decoded):\n%s", b, d)
	}
}

// fitTensors reports whether instances are what typed V2 tensors can
// carry: arrays of numbers, or objects with the same fields, each a number,
// a boolean or a string. (TensorsFromInstances leaves out the fields that
// instance 0 lacks.)
func fitTensors(instances []any) bool {
	for _, inst := range instances {
		switch inst := inst.(type) {
		case []any:
			for _, v := range inst {
				if _, ok := v.(float64); !ok {
					return false
				}
			}
		case map[string]any:
			if first, ok := instances[0].(map[string]any); !ok || len(first) != len(inst) {
				return false
			}
			for _, v := range inst {
				switch v.(type) {
				case float64, bool, string:
				default:
					return false
				}
			}
		}
	}
	return true
}

// boolsAsNumbers returns instances with object fields' booleans as 1 and 0,
// as TensorsFromInstances sends them.
func boolsAsNumbers(instances []any) []any {
	out := make([]any, len(instances))
	for i, inst := range instances {
		m, ok := inst.(map[string]any)
		if !ok {
			out[i] = inst
			continue
		}
		c := make(map[string]any, len(m))
		for k, v := range m {
			if b, ok := v.(bool); ok {
				v = map[bool]float64{false: 0, true: 1}[b]
			}
			c[k] = v
		}
		out[i] = c
	}
	return out
}
