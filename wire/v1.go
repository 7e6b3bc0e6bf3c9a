package wire

import (
	"encoding/json"

	"github.com/modelgate/modelgate"
)

// V1Request is a KServe V1 prediction request; KServe also accepts the
// instances under "inputs".
type V1Request struct {
	Instances []any `json:"instances"`
	Inputs    []any `json:"inputs,omitempty"`
}

// InstancesOrInputs returns the request's "instances", else its "inputs".
// EINVALID when it has neither.
func (r V1Request) InstancesOrInputs() ([]any, error) {
	switch {
	case r.Instances != nil:
		return r.Instances, nil
	case r.Inputs != nil:
		return r.Inputs, nil
	}
	return nil, modelgate.Errorf(modelgate.EINVALID, `request has no "instances"`)
}

// V1Response is a V1 prediction answer: one number per instance.
type V1Response struct {
	Predictions []float64 `json:"predictions"`
}

// ModelReady answers GET /v1/models/{name} and GET /v2/models/{name}/ready.
type ModelReady struct {
	Name  string `json:"name"`
	Ready bool   `json:"ready"`
}

// ErrorBody is a data-plane error answer, as KServe writes it.
type ErrorBody struct {
	Error string `json:"error"`
}

// DecodeV1Predictions decodes a V1 prediction answer. null and the NaN and
// Infinity tokens Python writes decode as NaN and ±Inf (see
// NonFiniteAsStrings). EINVALID when it is not an object with "predictions"
// that are all numbers.
func DecodeV1Predictions(b []byte) ([]float64, error) {
	var out struct {
		Predictions *[]any `json:"predictions"`
	}
	if err := json.Unmarshal(NonFiniteAsStrings(b), &out); err != nil {
		return nil, modelgate.Errorf(modelgate.EINVALID, "not a V1 predictions object: %v", err)
	}
	if out.Predictions == nil {
		return nil, modelgate.Errorf(modelgate.EINVALID, `no "predictions"`)
	}
	preds, ok := Numbers(*out.Predictions)
	if !ok {
		return nil, modelgate.Errorf(modelgate.EINVALID, "predictions are not all numbers: %.200s", b)
	}
	return preds, nil
}
