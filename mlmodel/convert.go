package mlmodel

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// toNumber converts one JSON value to a feature value. null is a missing
// value (NaN), which LightGBM routes by each split's missing-value rule.
func toNumber(v any) (float64, error) {
	switch x := v.(type) {
	case nil:
		return math.NaN(), nil
	case float64:
		return x, nil
	case json.Number:
		return parseNumber(string(x))
	case string:
		return parseNumber(x)
	case bool:
		if x {
			return 1, nil
		}
		return 0, nil
	case int:
		return float64(x), nil
	case int64:
		return float64(x), nil
	case float32:
		return float64(x), nil
	}
	return 0, fmt.Errorf("%s is not a number", describe(v))
}

// parseNumber accepts a decimal number, and NaN and ±Infinity spelt as
// MLflow's scoring server reads them from a string where its signature
// says double (pandas' astype, Python's float()): "NaN", "Infinity",
// "-Infinity", also "inf" and "nan", in any case, with an optional sign. A
// client cannot send these as JSON numbers. NaN is a missing value, as null
// is. A number too large for a float64 ("1e999") and spaces around a number
// are refused, where Python would read them.
func parseNumber(s string) (float64, error) {
	if f, ok := nonFinite(s); ok {
		return f, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, fmt.Errorf("%q is not a number", s)
	}
	return f, nil
}

// nonFinite reads the spellings of NaN and ±Infinity Python's float()
// accepts.
func nonFinite(s string) (float64, bool) {
	sign := 1.0
	switch {
	case strings.HasPrefix(s, "-"):
		sign, s = -1, s[1:]
	case strings.HasPrefix(s, "+"):
		s = s[1:]
	}
	switch {
	case strings.EqualFold(s, "nan"):
		return math.NaN(), true
	case strings.EqualFold(s, "inf"), strings.EqualFold(s, "infinity"):
		return math.Inf(int(sign)), true
	}
	return 0, false
}

// toDate parses a date string in layout.
func toDate(v any, layout string) (time.Time, error) {
	s, ok := v.(string)
	if !ok {
		return time.Time{}, fmt.Errorf("%s is not a date string in layout %s", describe(v), layout)
	}
	t, err := time.Parse(layout, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not a date in layout %s", s, layout)
	}
	return t, nil
}

// describe shows a decoded JSON value in an error message.
func describe(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return strconv.Quote(x)
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	case bool, float64, json.Number, int, int64, float32:
		return fmt.Sprint(x)
	}
	return fmt.Sprintf("a %T", v)
}
