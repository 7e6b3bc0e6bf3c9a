package gateway

import (
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"sync"
)

// Direct JSON encoding of what every prediction writes: the V1 answer and
// the instances kept among the recent requests. They append the bytes
// encoding/json writes for the same values (encode_test.go compares them)
// without its reflection, which was a large share of a small request.

// jsonAppender is an answer body that encodes itself, as encoding/json's
// Encoder would, newline included.
type jsonAppender interface {
	appendJSON(b []byte) []byte
}

// v1Predictions is the V1 answer body: wire.V1Response{Predictions: p}.
type v1Predictions []float64

func (p v1Predictions) appendJSON(b []byte) []byte {
	b = append(b, `{"predictions":`...)
	if p == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, f := range p {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendFloat(b, f)
		}
		b = append(b, ']')
	}
	return append(b, "}\n"...)
}

// appendFloat appends a finite f as encoding/json writes a float64: the
// shortest decimal, in exponent form below 1e-6 and from 1e21, with a
// one-digit negative exponent written without its leading zero.
func appendFloat(b []byte, f float64) []byte {
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

// appendValue appends a decoded JSON value (map[string]any with its keys
// sorted, []any, string, float64, bool, nil) as json.Marshal encodes it;
// false for anything else or a float64 JSON cannot hold.
func appendValue(b []byte, v any) ([]byte, bool) {
	switch x := v.(type) {
	case nil:
		return append(b, "null"...), true
	case bool:
		return strconv.AppendBool(b, x), true
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return b, false
		}
		return appendFloat(b, x), true
	case string:
		return appendString(b, x), true
	case []any:
		b = append(b, '[')
		for i, e := range x {
			if i > 0 {
				b = append(b, ',')
			}
			var ok bool
			if b, ok = appendValue(b, e); !ok {
				return b, false
			}
		}
		return append(b, ']'), true
	case map[string]any:
		return appendObject(b, x)
	}
	return b, false
}

// appendObject appends m with its keys sorted, as json.Marshal does.
func appendObject(b []byte, m map[string]any) ([]byte, bool) {
	var small [16]string
	keys := small[:0]
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, k)
		b = append(b, ':')
		var ok bool
		if b, ok = appendValue(b, m[k]); !ok {
			return b, false
		}
	}
	return append(b, '}'), true
}

// appendString appends s quoted; a string needing any escape (including
// the HTML ones json.Marshal applies) or holding non-ASCII is quoted by
// encoding/json itself.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x80 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s) // a string always encodes
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// buffers recycles the byte buffers request bodies are read into and
// answers encoded into; its zero value is ready.
type buffers struct{ pool sync.Pool }

// maxPooledBuffer bounds the buffers kept for reuse, so one large request
// does not pin its memory.
const maxPooledBuffer = 64 << 10

func (p *buffers) get() *[]byte {
	if bp, ok := p.pool.Get().(*[]byte); ok {
		return bp
	}
	b := make([]byte, 0, 4096)
	return &b
}

func (p *buffers) put(bp *[]byte) {
	if cap(*bp) <= maxPooledBuffer {
		*bp = (*bp)[:0]
		p.pool.Put(bp)
	}
}
