package wire

import (
	"fmt"
	"math"
	"strconv"
	"strings"
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

// IsNumeric reports whether dt is a V2 datatype of numbers (FP*, BF16,
// INT*, UINT*).
func IsNumeric(dt string) bool {
	k, ok := datatypeKind(dt)
	return ok && k == kindNumber
}

// ShapeString formats a shape as V2 writes it: [2, 3].
func ShapeString(shape []int64) string {
	parts := make([]string, len(shape))
	for i, d := range shape {
		parts[i] = strconv.FormatInt(d, 10)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// values returns the tensor's elements flattened row-major, checked against
// its shape and, when typed, against its datatype: float64 for numbers,
// bool, string. The error says what is wrong without naming the tensor.
func (t Tensor) values(typed bool) ([]any, error) {
	k, known := datatypeKind(t.Datatype)
	if typed && !known {
		return nil, fmt.Errorf("datatype %q is not supported", t.Datatype)
	}
	want := int64(1)
	for _, d := range t.Shape {
		if d < 0 {
			return nil, fmt.Errorf("shape %s has a negative dimension", ShapeString(t.Shape))
		}
		if d > 0 && want > math.MaxInt64/d {
			return nil, fmt.Errorf("shape %s holds more values than can be counted", ShapeString(t.Shape))
		}
		want *= d
	}
	vals := Flatten(t.Data, nil)
	if int64(len(vals)) != want {
		return nil, fmt.Errorf("shape %s holds %d values but data has %d", ShapeString(t.Shape), want, len(vals))
	}
	if !typed {
		return vals, nil
	}
	for i, v := range vals {
		if want := mismatch(k, v); want != "" {
			return nil, fmt.Errorf("value %d is %s, not %s as %s requires", i, describe(v), want, t.Datatype)
		}
	}
	return vals, nil
}

// isColumn reports whether t holds one value per row: shape [N] or [N, 1].
func (t Tensor) isColumn() bool {
	return len(t.Shape) == 1 || (len(t.Shape) == 2 && t.Shape[1] == 1)
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
