package mlmodel

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/modelgate/modelgate/mlmodelfile"
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
	if layout == mlmodelfile.DefaultDateFormat {
		if t, ok := isoDate(s); ok {
			return t, nil
		}
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

// isoDate reads YYYY-MM-DD as time.Parse does with DefaultDateFormat, at a
// tenth of its cost (a date is parsed on every request of a model with a
// date feature); false for anything else, which time.Parse then refuses.
func isoDate(s string) (time.Time, bool) {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return time.Time{}, false
	}
	y, m, d := 0, 0, 0
	for i, c := range []byte(s) {
		if i == 4 || i == 7 {
			continue
		}
		if c < '0' || c > '9' {
			return time.Time{}, false
		}
		switch n := int(c - '0'); {
		case i < 4:
			y = y*10 + n
		case i < 7:
			m = m*10 + n
		default:
			d = d*10 + n
		}
	}
	if m < 1 || m > 12 || d < 1 || d > daysIn(time.Month(m), y) {
		return time.Time{}, false
	}
	return time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC), true
}

// daysIn is the number of days in month m of year y.
func daysIn(m time.Month, y int) int {
	switch m {
	case time.February:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case time.April, time.June, time.September, time.November:
		return 30
	}
	return 31
}
