package payload

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
)

// tensor is one V2 (Open Inference Protocol) input or output.
type tensor struct {
	Name     string  `json:"name"`
	Shape    []int64 `json:"shape"`
	Datatype string  `json:"datatype"`
	Data     any     `json:"data"` // nested or flat, row-major
}

// parseInstances returns the instances of a logged request body: V1
// "instances" (or "inputs" holding instances), or V2 "inputs" tensors
// turned into instances the way the gateway does: one numeric [N, F]
// tensor gives N arrays of F values; otherwise each tensor of shape [N] or
// [N, 1] is one named field of N map instances. Tensors of other shapes
// (images, embeddings) are left out.
func parseInstances(body []byte) ([]any, error) {
	var msg struct {
		Instances []any           `json:"instances"`
		Inputs    json.RawMessage `json:"inputs"`
	}
	if err := json.Unmarshal(body, &msg); err != nil {
		return nil, fmt.Errorf("request body is not a JSON object: %v", err)
	}
	if msg.Instances != nil {
		return msg.Instances, nil
	}
	if len(msg.Inputs) == 0 || bytes.Equal(msg.Inputs, []byte("null")) {
		return nil, fmt.Errorf(`request has neither "instances" nor "inputs"`)
	}
	var inputs []any
	if err := json.Unmarshal(msg.Inputs, &inputs); err != nil {
		return nil, fmt.Errorf(`"inputs" is not an array: %v`, err)
	}
	if !areTensors(inputs) {
		return inputs, nil // V1 with "inputs"
	}
	var tensors []tensor
	if err := json.Unmarshal(msg.Inputs, &tensors); err != nil {
		return nil, fmt.Errorf(`V2 "inputs": %v`, err)
	}
	return tensorInstances(tensors)
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

func tensorInstances(tensors []tensor) ([]any, error) {
	if len(tensors) == 1 && len(tensors[0].Shape) == 2 && tensors[0].Shape[1] != 1 {
		t := tensors[0]
		vals, err := t.values()
		if err != nil {
			return nil, err
		}
		n, f := int(t.Shape[0]), int(t.Shape[1])
		out := make([]any, n)
		for i := range n {
			out[i] = vals[i*f : (i+1)*f]
		}
		return out, nil
	}
	n := -1
	var out []any
	for _, t := range tensors {
		if len(t.Shape) == 0 || len(t.Shape) > 2 || (len(t.Shape) == 2 && t.Shape[1] != 1) {
			continue // not one value per row
		}
		vals, err := t.values()
		if err != nil {
			return nil, err
		}
		if n < 0 {
			n = len(vals)
			out = make([]any, n)
			for i := range out {
				out[i] = make(map[string]any, len(tensors))
			}
		}
		if len(vals) != n {
			return nil, fmt.Errorf("inputs disagree on the number of rows: %d and %d (%q)", n, len(vals), t.Name)
		}
		for i, v := range vals {
			out[i].(map[string]any)[t.Name] = v
		}
	}
	return out, nil
}

// values returns the tensor's elements flattened row-major, checked against
// its shape.
func (t tensor) values() ([]any, error) {
	want := int64(1)
	for _, d := range t.Shape {
		if d < 0 {
			return nil, fmt.Errorf("tensor %q: shape %v has a negative dimension", t.Name, t.Shape)
		}
		want *= d
	}
	vals := flatten(t.Data, nil)
	if int64(len(vals)) != want {
		return nil, fmt.Errorf("tensor %q: shape %v holds %d values but data has %d", t.Name, t.Shape, want, len(vals))
	}
	return vals, nil
}

// flatten appends the leaves of nested JSON arrays to out.
func flatten(v any, out []any) []any {
	switch v := v.(type) {
	case nil:
		return out
	case []any:
		for _, e := range v {
			if e == nil {
				out = append(out, nil)
				continue
			}
			out = flatten(e, out)
		}
		return out
	}
	return append(out, v)
}

// parsePredictions returns the predictions of a logged response body: V1
// "predictions" (numbers, or one-element arrays), or the first V2 output
// when it holds one value per row (shape [N] or [N, 1]). Non-numeric
// predictions (class names, probability vectors) are an error: there is
// nothing to summarise as one distribution.
func parsePredictions(body []byte) ([]float64, error) {
	var msg struct {
		Predictions []any    `json:"predictions"`
		Outputs     []tensor `json:"outputs"`
	}
	if err := json.Unmarshal(body, &msg); err != nil {
		return nil, fmt.Errorf("response body is not a V1 or V2 response: %v", err)
	}
	var vals []any
	switch {
	case msg.Predictions != nil:
		for _, p := range msg.Predictions {
			if a, ok := p.([]any); ok && len(a) == 1 {
				p = a[0]
			}
			vals = append(vals, p)
		}
	case len(msg.Outputs) > 0:
		t := msg.Outputs[0]
		if len(t.Shape) == 0 || len(t.Shape) > 2 || (len(t.Shape) == 2 && t.Shape[1] != 1) {
			return nil, fmt.Errorf("output %q has shape %v, not one value per row", t.Name, t.Shape)
		}
		var err error
		if vals, err = t.values(); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf(`response has neither "predictions" nor "outputs"`)
	}
	preds := make([]float64, len(vals))
	for i, v := range vals {
		f, ok := number(v)
		if !ok {
			return nil, fmt.Errorf("prediction %d is %v, not a number", i, v)
		}
		preds[i] = f
	}
	return preds, nil
}

// number converts a JSON number or boolean (1 or 0) to a float64.
func number(v any) (float64, bool) {
	switch v := v.(type) {
	case float64:
		return v, true
	case bool:
		if v {
			return 1, true
		}
		return 0, true
	}
	return 0, false
}

// rawFeatures is the default featurisation: every numeric (or boolean)
// field of a map instance under its name, every numeric element of an
// array instance as feature_<j>. Strings (dates, categories) are left out.
func rawFeatures(instances []any, add func(name string, v float64)) {
	for _, inst := range instances {
		switch inst := inst.(type) {
		case map[string]any:
			for k, v := range inst {
				if f, ok := number(v); ok {
					add(k, f)
				}
			}
		case []any:
			for j, v := range inst {
				if f, ok := number(v); ok {
					add(columnName(nil, j), f)
				}
			}
		}
	}
}

// columnName names column j; columns beyond names get "feature_<j>", as
// the gateway names them.
func columnName(names []string, j int) string {
	if j < len(names) {
		return names[j]
	}
	return "feature_" + strconv.Itoa(j)
}
