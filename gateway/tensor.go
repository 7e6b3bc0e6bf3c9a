package gateway

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/modelgate/modelgate"
)

// kind is what JSON values a V2 datatype carries.
type kind int

const (
	kindNumber kind = iota
	kindBool
	kindString
)

// datatypeKind returns the kind of a V2 datatype; ok is false for unknown
// datatypes.
func datatypeKind(dt string) (k kind, ok bool) {
	switch dt {
	case "FP16", "BF16", "FP32", "FP64",
		"INT8", "INT16", "INT32", "INT64", "UINT8", "UINT16", "UINT32", "UINT64":
		return kindNumber, true
	case "BOOL":
		return kindBool, true
	case "BYTES":
		return kindString, true
	}
	return 0, false
}

// values returns the tensor's elements, flattened row-major and checked
// against its shape and datatype: float64 for numbers, bool, string.
func (t v2Tensor) values() ([]any, error) {
	k, ok := datatypeKind(t.Datatype)
	if !ok {
		return nil, invalidInput(t.Name, "datatype %q is not supported", t.Datatype)
	}
	want := int64(1)
	for _, d := range t.Shape {
		if d < 0 {
			return nil, invalidInput(t.Name, "shape %s has a negative dimension", shapeString(t.Shape))
		}
		want *= d
	}
	vals := flatten(t.Data, nil)
	if int64(len(vals)) != want {
		return nil, invalidInput(t.Name, "shape %s holds %d values but data has %d", shapeString(t.Shape), want, len(vals))
	}
	for i, v := range vals {
		if want := mismatch(k, v); want != "" {
			return nil, invalidInput(t.Name, "value %d is %s, not %s as %s requires", i, describe(v), want, t.Datatype)
		}
	}
	return vals, nil
}

// flatten appends the leaves of nested JSON arrays to out; a missing
// (null) data field has no leaves, a null inside an array is one.
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

// mismatch returns what k expects when v does not fit it, "" when it does.
func mismatch(k kind, v any) string {
	var ok bool
	var want string
	switch k {
	case kindNumber:
		_, ok = v.(float64)
		want = "a number"
	case kindBool:
		_, ok = v.(bool)
		want = "true or false"
	case kindString:
		_, ok = v.(string)
		want = "a string"
	}
	if ok {
		return ""
	}
	return want
}

func describe(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return fmt.Sprintf("%q", v)
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%v", v)
}

// shapeString formats a shape as V2 writes it: [2, 3].
func shapeString(shape []int64) string {
	parts := make([]string, len(shape))
	for i, d := range shape {
		parts[i] = strconv.FormatInt(d, 10)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

func invalidInput(name, format string, args ...any) error {
	return modelgate.Errorf(modelgate.EINVALID, "input %q: %s", name, fmt.Sprintf(format, args...))
}

// matrixInstances turns a numeric [N, F] tensor into N rows of F values.
func matrixInstances(t v2Tensor) ([]any, error) {
	vals, err := t.values()
	if err != nil {
		return nil, err
	}
	n, f := int(t.Shape[0]), int(t.Shape[1])
	instances := make([]any, n)
	for i := range n {
		instances[i] = vals[i*f : (i+1)*f]
	}
	return instances, nil
}

// fieldInstances turns one tensor per field, each of shape [N] or [N, 1],
// into N instances mapping field names to values.
func fieldInstances(inputs []v2Tensor) ([]any, error) {
	n := -1
	var first string
	columns := make(map[string][]any, len(inputs))
	for _, t := range inputs {
		if t.Name == "" {
			return nil, modelgate.Errorf(modelgate.EINVALID, "an input has no name")
		}
		if _, dup := columns[t.Name]; dup {
			return nil, invalidInput(t.Name, "appears more than once")
		}
		if len(t.Shape) == 0 || len(t.Shape) > 2 || (len(t.Shape) == 2 && t.Shape[1] != 1) {
			return nil, invalidInput(t.Name, "shape %s is neither [N] nor [N, 1]", shapeString(t.Shape))
		}
		vals, err := t.values()
		if err != nil {
			return nil, err
		}
		if n >= 0 && len(vals) != n {
			return nil, modelgate.Errorf(modelgate.EINVALID,
				"inputs disagree on the number of rows: %q has %d, %q has %d", first, n, t.Name, len(vals))
		}
		if n < 0 {
			n, first = len(vals), t.Name
		}
		columns[t.Name] = vals
	}
	instances := make([]any, n)
	for i := range n {
		inst := make(map[string]any, len(columns))
		for name, col := range columns {
			inst[name] = col[i]
		}
		instances[i] = inst
	}
	return instances, nil
}
