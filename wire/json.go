package wire

import (
	"bytes"
	"math"
)

// Flatten appends the leaves of nested JSON arrays to out; a missing (null)
// value has no leaves, a null inside an array is one.
func Flatten(v any, out []any) []any {
	switch v := v.(type) {
	case nil:
		return out
	case []any:
		if out == nil {
			out = make([]any, 0, len(v))
		}
		for _, e := range v {
			if e == nil {
				out = append(out, nil)
				continue
			}
			out = Flatten(e, out)
		}
		return out
	}
	return append(out, v)
}

// Numbers converts decoded JSON leaves to float64 as Number does. ok is
// false when a leaf is not a number.
func Numbers(vals []any) (nums []float64, ok bool) {
	nums = make([]float64, len(vals))
	for i, v := range vals {
		f, isNum := Number(v)
		if !isNum {
			return nil, false
		}
		nums[i] = f
	}
	return nums, true
}

// Number converts one decoded JSON leaf of an answer to float64: a number
// as it is, null and the strings "NaN", "Infinity", "-Infinity" (see
// NonFiniteAsStrings) as NaN and ±Inf.
func Number(v any) (float64, bool) {
	switch v := v.(type) {
	case float64:
		return v, true
	case nil:
		return math.NaN(), true
	case string:
		switch v {
		case "NaN", "nan":
			return math.NaN(), true
		case "Infinity", "inf", "+Infinity":
			return math.Inf(1), true
		case "-Infinity", "-inf":
			return math.Inf(-1), true
		}
	}
	return 0, false
}

// NumberOrBool converts a decoded JSON number, or a boolean as 1 or 0, to
// float64; anything else (null, strings) is not one.
func NumberOrBool(v any) (float64, bool) {
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

// NonFiniteAsStrings rewrites the bare tokens NaN, Infinity and -Infinity
// that Python's json module writes (they are not JSON) into the strings
// "NaN", "Infinity" and "-Infinity", leaving string contents alone, so the
// answer decodes and the values can be reported rather than failing the
// decoder. Valid JSON comes back unchanged.
func NonFiniteAsStrings(b []byte) []byte {
	if !bytes.Contains(b, []byte("NaN")) && !bytes.Contains(b, []byte("Infinity")) {
		return b
	}
	var out bytes.Buffer
	inString, escaped := false, false
	for i := 0; i < len(b); i++ {
		ch := b[i]
		if inString {
			out.WriteByte(ch)
			switch {
			case escaped:
				escaped = false
			case ch == '\\':
				escaped = true
			case ch == '"':
				inString = false
			}
			continue
		}
		if ch == '"' {
			inString = true
			out.WriteByte(ch)
			continue
		}
		i += writeToken(&out, b[i:]) - 1
	}
	return out.Bytes()
}

// writeToken writes the non-finite token b starts with as a string, or its
// first byte; it returns how many bytes of b it consumed.
func writeToken(out *bytes.Buffer, b []byte) int {
	for _, tok := range []string{"-Infinity", "Infinity", "NaN"} {
		if bytes.HasPrefix(b, []byte(tok)) {
			out.WriteString(`"` + tok + `"`)
			return len(tok)
		}
	}
	out.WriteByte(b[0])
	return 1
}
