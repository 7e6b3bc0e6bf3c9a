package xgboost

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
)

// decodeJSON decodes an XGBoost JSON model, keeping numbers as json.Number
// so that float32 values are parsed straight to float32, as XGBoost does.
func decodeJSON(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("JSON: %w", err)
	}
	return v, nil
}

// The helpers below read the decoded tree of either format.

func object(v any, name string) (map[string]any, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s is not an object", name)
	}
	return m, nil
}

func field(m map[string]any, key, name string) (map[string]any, error) {
	v, ok := m[key]
	if !ok {
		return nil, fmt.Errorf("%s has no %q", name, key)
	}
	return object(v, name+"."+key)
}

func stringField(m map[string]any, key, name string) (string, error) {
	s, ok := m[key].(string)
	if !ok {
		return "", fmt.Errorf("%s.%s is missing or not a string", name, key)
	}
	return s, nil
}

// intString reads an integer XGBoost stores as a string ("num_feature": "3").
func intString(m map[string]any, key, name string, dflt int) (int, error) {
	v, ok := m[key]
	if !ok {
		return dflt, nil
	}
	s, ok := v.(string)
	if !ok {
		return 0, fmt.Errorf("%s.%s is not a string", name, key)
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%s.%s is %q, not a non-negative integer", name, key, s)
	}
	return n, nil
}

func stringList(v any, name string) ([]string, error) {
	if v == nil {
		return nil, nil
	}
	arr, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("%s is not an array", name)
	}
	out := make([]string, len(arr))
	for i, e := range arr {
		if out[i], ok = e.(string); !ok {
			return nil, fmt.Errorf("%s[%d] is not a string", name, i)
		}
	}
	return out, nil
}

// floats32 reads an array of numbers as float32.
func floats32(v any, name string) ([]float32, error) {
	switch a := v.(type) {
	case []float32:
		return a, nil
	case []float64:
		out := make([]float32, len(a))
		for i, x := range a {
			out[i] = float32(x)
		}
		return out, nil
	case []int64:
		out := make([]float32, len(a))
		for i, x := range a {
			out[i] = float32(x)
		}
		return out, nil
	case []any:
		out := make([]float32, len(a))
		for i, e := range a {
			f, err := float32Of(e)
			if err != nil {
				return nil, fmt.Errorf("%s[%d]: %w", name, i, err)
			}
			out[i] = f
		}
		return out, nil
	}
	return nil, fmt.Errorf("%s is missing or not an array of numbers", name)
}

func float32Of(v any) (float32, error) {
	switch x := v.(type) {
	case json.Number:
		f, err := strconv.ParseFloat(string(x), 32)
		if err != nil {
			return 0, fmt.Errorf("%q is not a number", string(x))
		}
		return float32(f), nil
	case float32:
		return x, nil
	case float64:
		return float32(x), nil
	case int64:
		return float32(x), nil
	}
	return 0, fmt.Errorf("%v is not a number", v)
}

// ints reads an array of integers; booleans read as 0 and 1, as old models
// stored default_left.
func ints(v any, name string) ([]int64, error) {
	switch a := v.(type) {
	case []int64:
		return a, nil
	case []any:
		out := make([]int64, len(a))
		for i, e := range a {
			switch x := e.(type) {
			case json.Number:
				n, err := strconv.ParseInt(string(x), 10, 64)
				if err != nil {
					return nil, fmt.Errorf("%s[%d] is %q, not an integer", name, i, string(x))
				}
				out[i] = n
			case int64:
				out[i] = x
			case bool:
				if x {
					out[i] = 1
				}
			default:
				return nil, fmt.Errorf("%s[%d] is not an integer", name, i)
			}
		}
		return out, nil
	case nil:
		return nil, fmt.Errorf("%s is missing", name)
	}
	return nil, fmt.Errorf("%s is not an array of integers", name)
}
