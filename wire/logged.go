package wire

import (
	"bytes"
	"encoding/json"

	"github.com/modelgate/modelgate"
)

// LoggedInstances returns the instances of a logged request body of either
// protocol, leniently, since the server already accepted it: V1
// "instances" (or "inputs" holding instances), or V2 "inputs" tensors read
// as Instances does, except that one [N, F] tensor of any datatype gives N
// arrays (an [N, 1] one is a field), datatypes are not checked and tensors
// of other shapes (images, embeddings) are left out.
func LoggedInstances(body []byte) ([]any, error) {
	var msg struct {
		Instances []any           `json:"instances"`
		Inputs    json.RawMessage `json:"inputs"`
	}
	if err := json.Unmarshal(body, &msg); err != nil {
		return nil, modelgate.Errorf(modelgate.EINVALID, "request body is not a JSON object: %v", err)
	}
	if msg.Instances != nil {
		return msg.Instances, nil
	}
	if len(msg.Inputs) == 0 || bytes.Equal(msg.Inputs, []byte("null")) {
		return nil, modelgate.Errorf(modelgate.EINVALID, `request has neither "instances" nor "inputs"`)
	}
	var inputs []any
	if err := json.Unmarshal(msg.Inputs, &inputs); err != nil {
		return nil, modelgate.Errorf(modelgate.EINVALID, `"inputs" is not an array: %v`, err)
	}
	if !areTensors(inputs) {
		return inputs, nil // V1 with "inputs"
	}
	var tensors []Tensor
	if err := json.Unmarshal(msg.Inputs, &tensors); err != nil {
		return nil, modelgate.Errorf(modelgate.EINVALID, `V2 "inputs": %v`, err)
	}
	if len(tensors) == 1 && len(tensors[0].Shape) == 2 && tensors[0].Shape[1] != 1 {
		return matrixRows(tensors[0], false)
	}
	return fieldRows(tensors, false)
}

// areTensors reports whether V1-or-V2 "inputs" are V2 tensors: objects
// with a datatype and a shape.
func areTensors(inputs []any) bool {
	if len(inputs) == 0 {
		return false
	}
	for _, in := range inputs {
		m, ok := in.(map[string]any)
		if !ok {
			return false
		}
		if _, ok := m["datatype"]; !ok {
			return false
		}
		if _, ok := m["shape"]; !ok {
			return false
		}
	}
	return true
}

// LoggedPredictions returns the predictions of a logged response body: V1
// "predictions" (numbers, or one-element arrays), or the first V2 output
// when it holds one value per row (shape [N] or [N, 1]); booleans count as
// 1 and 0. Non-numeric predictions (class names, probability vectors) are
// an error: there is nothing to summarise as one distribution.
func LoggedPredictions(body []byte) ([]float64, error) {
	var msg struct {
		Predictions []any    `json:"predictions"`
		Outputs     []Tensor `json:"outputs"`
	}
	if err := json.Unmarshal(body, &msg); err != nil {
		return nil, modelgate.Errorf(modelgate.EINVALID, "response body is not a V1 or V2 response: %v", err)
	}
	vals, err := loggedValues(msg.Predictions, msg.Outputs)
	if err != nil {
		return nil, err
	}
	preds := make([]float64, len(vals))
	for i, v := range vals {
		f, ok := NumberOrBool(v)
		if !ok {
			return nil, modelgate.Errorf(modelgate.EINVALID, "prediction %d is %v, not a number", i, v)
		}
		preds[i] = f
	}
	return preds, nil
}

// loggedValues returns the V1 predictions, else the first V2 output's
// values.
func loggedValues(predictions []any, outputs []Tensor) ([]any, error) {
	switch {
	case predictions != nil:
		vals := make([]any, 0, len(predictions))
		for _, p := range predictions {
			if a, ok := p.([]any); ok && len(a) == 1 {
				p = a[0]
			}
			vals = append(vals, p)
		}
		return vals, nil
	case len(outputs) > 0:
		t := outputs[0]
		if !t.isColumn() {
			return nil, modelgate.Errorf(modelgate.EINVALID, "output %q has shape %s, not one value per row", t.Name, ShapeString(t.Shape))
		}
		vals, err := t.values(false)
		if err != nil {
			return nil, modelgate.Errorf(modelgate.EINVALID, "output %q: %v", t.Name, err)
		}
		return vals, nil
	}
	return nil, modelgate.Errorf(modelgate.EINVALID, `response has neither "predictions" nor "outputs"`)
}
