package wire

import (
	"encoding/json"
	"maps"
	"slices"

	"github.com/modelgate/modelgate"
)

// TensorsFromInstances turns V1 instances into V2 input tensors, the way
// Instances (and the example KServe server) read them back: arrays of F
// feature values become one FP64 tensor "input-0" of shape [N, F]; objects
// of raw fields become one tensor per field of shape [N], in name order,
// FP64 for numbers, booleans (as 1 and 0) and nulls, BYTES for strings.
// EINVALID for instances that fit neither.
func TensorsFromInstances(instances []any) ([]Tensor, error) {
	if len(instances) == 0 {
		return nil, modelgate.Errorf(modelgate.EINVALID, "no instances to send")
	}
	if _, ok := instances[0].([]any); ok {
		return matrixTensor(instances)
	}
	return fieldTensors(instances)
}

func matrixTensor(instances []any) ([]Tensor, error) {
	width := -1
	data := make([]any, 0, len(instances))
	for i, inst := range instances {
		row, ok := inst.([]any)
		if !ok || (width >= 0 && len(row) != width) {
			return nil, modelgate.Errorf(modelgate.EINVALID, "instance %d: expected an array of %d feature values like instance 0", i, width)
		}
		width = len(row)
		data = append(data, row)
	}
	if width == 0 {
		return nil, modelgate.Errorf(modelgate.EINVALID, "instances hold no feature values")
	}
	return []Tensor{{Name: "input-0", Shape: []int64{int64(len(instances)), int64(width)}, Datatype: "FP64", Data: data}}, nil
}

func fieldTensors(instances []any) ([]Tensor, error) {
	first, ok := instances[0].(map[string]any)
	if !ok {
		return nil, modelgate.Errorf(modelgate.EINVALID, "instance 0: expected an object of fields or an array of feature values")
	}
	names := slices.Sorted(maps.Keys(first))
	if len(names) == 0 || names[0] == "" { // V2 has no tensor for a row without fields, nor a nameless one
		return nil, modelgate.Errorf(modelgate.EINVALID, "instance 0: expected an object of named fields or an array of feature values")
	}
	tensors := make([]Tensor, len(names))
	for j, name := range names {
		t, err := fieldTensor(instances, name)
		if err != nil {
			return nil, err
		}
		tensors[j] = t
	}
	return tensors, nil
}

// fieldTensor is the [N] tensor of one field of every instance.
func fieldTensor(instances []any, name string) (Tensor, error) {
	col := make([]any, len(instances))
	dt := ""
	for i, inst := range instances {
		m, ok := inst.(map[string]any)
		if !ok {
			return Tensor{}, modelgate.Errorf(modelgate.EINVALID, "instance %d: expected an object of fields like instance 0", i)
		}
		v, ok := m[name]
		if !ok {
			return Tensor{}, modelgate.Errorf(modelgate.EINVALID, "instance %d: field %q is missing", i, name)
		}
		d, v := leafDatatype(v)
		if d == "" || (dt != "" && d != dt && v != nil) {
			return Tensor{}, modelgate.Errorf(modelgate.EINVALID, "instance %d: field %q holds %v, which does not fit a %s tensor", i, name, v, dt)
		}
		if dt == "" || v != nil {
			dt = d
		}
		col[i] = v
	}
	return Tensor{Name: name, Shape: []int64{int64(len(instances))}, Datatype: dt, Data: col}, nil
}

// leafDatatype returns the V2 datatype of one field value ("" if none fits)
// and the value to send.
func leafDatatype(v any) (string, any) {
	switch x := v.(type) {
	case nil:
		return "FP64", nil
	case float64, float32, int, int64, int32:
		return "FP64", x
	case json.Number:
		f, err := x.Float64()
		if err != nil {
			return "", v
		}
		return "FP64", f
	case bool:
		if x {
			return "FP64", 1.0
		}
		return "FP64", 0.0
	case string:
		return "BYTES", x
	}
	return "", v
}
