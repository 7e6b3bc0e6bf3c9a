package gateway

import (
	"encoding/json"
	"strings"
)

// The pass-through fast paths. A passed-through V1 request is only split
// into its instances' raw JSON, and an upstream's V1 answer only read for
// its numbers; encoding/json's Unmarshal did both at a quarter of the
// proxy's CPU per request. The scanner below accepts only what it is sure
// encoding/json reads the same way (plain keys, numbers in range, depth
// within maxScanDepth) and otherwise leaves the bytes to the
// encoding/json path, so every refusal keeps its message
// (rawscan_test.go checks both agree).

// scanRawV1 splits a V1 body's instances as rawInstances does, into
// slices of b; ok is false when it cannot be sure rawInstances would
// accept b with the same instances, or b has none or more than max.
func scanRawV1(b []byte, max int) ([]json.RawMessage, bool) {
	s := scanner{b: b}
	var found [2][]json.RawMessage // "instances", "inputs"
	ok := s.members(func(key string, plain bool) (ok bool) {
		switch {
		case !plain:
			return false // an escaped key might still name a field
		case key == "instances":
			found[0], ok = s.rawArray(max)
		case key == "inputs":
			found[1], ok = s.rawArray(max)
		case strings.EqualFold(key, "instances"), strings.EqualFold(key, "inputs"):
			return false // encoding/json's case-insensitive match
		default:
			ok = s.skip(0)
		}
		return ok
	})
	raw := found[0]
	if raw == nil {
		raw = found[1]
	}
	if !ok || len(raw) == 0 || len(raw) > max {
		return nil, false
	}
	return raw, true
}

// rawArray reads an array member's values as raw JSON, nil for null,
// refusing more than max.
func (s *scanner) rawArray(max int) ([]json.RawMessage, bool) {
	if s.literal("null") {
		return nil, true
	}
	if s.b[s.i] != '[' {
		return nil, false
	}
	s.i++
	out := []json.RawMessage{}
	if !s.skipSpace() {
		return nil, false
	}
	if s.b[s.i] == ']' {
		s.i++
		return out, true
	}
	for len(out) < max {
		start := s.i
		if !s.skip(0) {
			return nil, false
		}
		out = append(out, s.b[start:s.i:s.i])
		if !s.skipSpace() {
			return nil, false
		}
		if done, ok := s.separator(']'); !ok {
			return nil, false
		} else if done {
			return out, true
		}
	}
	return nil, false
}

// scanPredictions reads an upstream's V1 answer when it is exactly an
// object whose "predictions" are numbers (other members skipped), as
// encoding/json reads it into a []float64; ok is false otherwise.
func scanPredictions(b []byte) ([]float64, bool) {
	s := scanner{b: b}
	var preds []float64
	ok := s.members(func(key string, plain bool) (ok bool) {
		switch {
		case !plain:
			return false
		case key == "predictions":
			preds, ok = s.numbers()
		case strings.EqualFold(key, "predictions"):
			return false
		default:
			ok = s.skip(0)
		}
		return ok
	})
	if !ok || preds == nil {
		return nil, false
	}
	return preds, true
}

// numbers reads an array of numbers, never nil when ok.
func (s *scanner) numbers() ([]float64, bool) {
	if s.b[s.i] != '[' {
		return nil, false
	}
	s.i++
	out := make([]float64, 0, 8)
	if !s.skipSpace() {
		return nil, false
	}
	if s.b[s.i] == ']' {
		s.i++
		return out, true
	}
	for {
		f, ok := s.number()
		if !ok || !s.skipSpace() {
			return nil, false
		}
		out = append(out, f)
		if done, ok := s.separator(']'); !ok {
			return nil, false
		} else if done {
			return out, true
		}
	}
}

// skip reads past one value at depth without building it; false when the
// value is malformed or nested beyond maxScanDepth.
func (s *scanner) skip(depth int) bool {
	if depth >= maxScanDepth {
		return false
	}
	switch c := s.b[s.i]; {
	case c == '{':
		return s.skipContainer(depth+1, '}')
	case c == '[':
		return s.skipContainer(depth+1, ']')
	case c == '"':
		return s.skipString()
	case c == '-' || c >= '0' && c <= '9':
		j := numberEnd(s.b, s.i)
		if j < 0 {
			return false
		}
		s.i = j
		return true
	}
	return s.literal("true") || s.literal("false") || s.literal("null")
}

// skipContainer reads past an object (end '}') or array (end ']').
func (s *scanner) skipContainer(depth int, end byte) bool {
	s.i++
	if !s.skipSpace() {
		return false
	}
	if s.b[s.i] == end {
		s.i++
		return true
	}
	for {
		if end == '}' {
			if s.b[s.i] != '"' || !s.skipString() || !s.skipSpace() || s.b[s.i] != ':' {
				return false
			}
			s.i++
			if !s.skipSpace() {
				return false
			}
		}
		if !s.skip(depth) || !s.skipSpace() {
			return false
		}
		if done, ok := s.separator(end); !ok {
			return false
		} else if done {
			return true
		}
	}
}

// skipString reads past a string, allocating nothing; one with an escape
// or a non-ASCII byte is checked by encoding/json.
func (s *scanner) skipString() bool {
	if end := plainEnd(s.b, s.i); end > 0 {
		s.i = end + 1
		return true
	}
	for j := s.i + 1; j < len(s.b); j++ {
		switch c := s.b[j]; {
		case c == '"':
			ok := json.Valid(s.b[s.i : j+1])
			s.i = j + 1
			return ok
		case c == '\\':
			j++ // the escaped byte cannot end the string
		case c < 0x20:
			return false
		}
	}
	return false
}
