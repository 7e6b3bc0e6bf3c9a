package gateway

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// The V1 fast path. A V1 body of a declared, small length is read whole
// into a pooled buffer and scanned by hand into the same values
// encoding/json gives (map[string]any, []any, float64, string, bool, nil):
// decoding through json.Decoder's tokens and reflection was the largest
// cost of a one-instance request. The scanner only ever accepts; whatever
// it does not accept for certain (any syntax error, an escape it does not
// decode itself, a number out of range, too many instances, deep nesting)
// sends the same bytes, and the same read error, to decodeV1, so every
// refusal and its message stay encoding/json's. It is hand-written because
// no trusted library decodes into these exact values faster while keeping
// encoding/json's acceptance (v1_scan_test.go checks both agree).

// fastBodyMax is the largest declared body the fast path buffers; larger
// and chunked bodies are streamed through decodeV1 as they arrive.
const fastBodyMax = 256 << 10

// maxScanDepth bounds the scanner's recursion; deeper bodies are left to
// encoding/json, whose own limit is far higher.
const maxScanDepth = 128

// readV1Body decodes a V1 body, scanning it by hand when its length is
// declared and at most fastBodyMax, streaming it through decodeV1
// otherwise or when the scanner does not accept it.
func readV1Body(w http.ResponseWriter, r *http.Request, bufs *buffers, limit int64, maxInstances int, names map[string]string) ([]any, error) {
	body, err := limitedBody(w, r, limit)
	if err != nil {
		return nil, err
	}
	if r.ContentLength < 0 || r.ContentLength > fastBodyMax {
		return decodeV1(json.NewDecoder(body), maxInstances)
	}
	bp := bufs.get()
	defer bufs.put(bp)
	buf, rerr := readAll(*bp, body)
	*bp = buf
	if rerr == io.EOF {
		if instances, ok := scanV1(buf, maxInstances, names); ok {
			return instances, nil
		}
	}
	return decodeV1(json.NewDecoder(&replay{b: buf, err: rerr}), maxInstances)
}

// readAll appends r's bytes to b until r fails; the failure (io.EOF at the
// end) is returned as it came, for a replay.
func readAll(b []byte, r io.Reader) ([]byte, error) {
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err != nil {
			return b, err
		}
	}
}

// replay reads b, then fails with err: what decodeV1 would have read from
// the body itself.
type replay struct {
	b   []byte
	err error
}

func (r *replay) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, r.err
	}
	n := copy(p, r.b)
	r.b = r.b[n:]
	return n, nil
}

// scanV1 decodes a whole V1 body as decodeV1 does; ok is false when it
// cannot be sure decodeV1 would accept it with the same instances.
func scanV1(b []byte, maxInstances int, names map[string]string) ([]any, bool) {
	s := scanner{b: b, names: names}
	var found [2][]any // "instances", "inputs", as decodeV1
	ok := s.members(func(key string, _ bool) (ok bool) {
		switch {
		case strings.EqualFold(key, "instances"):
			found[0], ok = s.instances(maxInstances)
		case strings.EqualFold(key, "inputs"):
			found[1], ok = s.instances(maxInstances)
		default:
			_, ok = s.value(0)
		}
		return ok
	})
	switch {
	case !ok:
		return nil, false
	case found[0] != nil:
		return found[0], true
	case found[1] != nil:
		return found[1], true
	}
	return nil, false // decodeV1 says there are none
}

// members reads b whole as one object, handing each member's key to each,
// which reads its value (at s.i, after white space); plain says the key
// was written with no escape or non-ASCII byte. False when b is not one
// object or each refuses.
func (s *scanner) members(each func(key string, plain bool) bool) bool {
	if !s.skipSpace() || s.b[s.i] != '{' {
		return false
	}
	s.i++
	if !s.skipSpace() {
		return false
	}
	if s.b[s.i] == '}' {
		s.i++
		return !s.skipSpace()
	}
	for {
		plain := plainEnd(s.b, s.i) > 0
		key, ok := s.str()
		if !ok || !s.skipSpace() || s.b[s.i] != ':' {
			return false
		}
		s.i++
		if !s.skipSpace() || !each(key, plain) || !s.skipSpace() {
			return false
		}
		if done, ok := s.separator('}'); !ok {
			return false
		} else if done {
			return !s.skipSpace() // nothing may follow the object
		}
	}
}

// scanner reads JSON values from b at i.
type scanner struct {
	b []byte
	i int
	// names are the field names instances are expected to carry (the
	// model's): an object's key equal to one is that string, not a new one.
	names map[string]string
}

// skipSpace skips JSON white space; false at the end of b.
func (s *scanner) skipSpace() bool {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return true
		}
	}
	return false
}

// instances reads a member's array of instances (nil for null), refusing
// more than max.
func (s *scanner) instances(max int) ([]any, bool) {
	if s.literal("null") {
		return nil, true
	}
	if s.b[s.i] != '[' {
		return nil, false
	}
	out, ok := s.array(0, max)
	if out == nil {
		out = []any{}
	}
	return out, ok
}

// value reads one value at depth, after white space.
func (s *scanner) value(depth int) (any, bool) {
	if depth >= maxScanDepth {
		return nil, false
	}
	switch c := s.b[s.i]; {
	case c == '{':
		return s.object(depth + 1)
	case c == '[':
		a, ok := s.array(depth+1, -1)
		if a == nil {
			a = []any{}
		}
		return a, ok
	case c == '"':
		return s.str()
	case c == '-' || c >= '0' && c <= '9':
		return s.number()
	case s.literal("true"):
		return true, true
	case s.literal("false"):
		return false, true
	case s.literal("null"):
		return nil, true
	}
	return nil, false
}

// literal consumes word when b holds it at i.
func (s *scanner) literal(word string) bool {
	if len(s.b)-s.i >= len(word) && string(s.b[s.i:s.i+len(word)]) == word {
		s.i += len(word)
		return true
	}
	return false
}

// object reads an object into a map; a repeated key keeps its last value,
// as encoding/json does.
func (s *scanner) object(depth int) (any, bool) {
	s.i++ // '{'
	m := make(map[string]any, 4)
	if !s.skipSpace() {
		return nil, false
	}
	if s.b[s.i] == '}' {
		s.i++
		return m, true
	}
	for {
		if s.b[s.i] != '"' {
			return nil, false
		}
		key, ok := s.key()
		if !ok || !s.skipSpace() || s.b[s.i] != ':' {
			return nil, false
		}
		s.i++
		if !s.skipSpace() {
			return nil, false
		}
		v, ok := s.value(depth)
		if !ok || !s.skipSpace() {
			return nil, false
		}
		m[key] = v
		if done, ok := s.separator('}'); !ok {
			return nil, false
		} else if done {
			return m, true
		}
	}
}

// array reads an array of at most max values (max < 0: no bound).
func (s *scanner) array(depth, max int) ([]any, bool) {
	s.i++ // '['
	if !s.skipSpace() {
		return nil, false
	}
	if s.b[s.i] == ']' {
		s.i++
		return nil, true
	}
	var out []any
	for {
		if len(out) == max {
			return nil, false
		}
		v, ok := s.value(depth)
		if !ok || !s.skipSpace() {
			return nil, false
		}
		out = append(out, v)
		if done, ok := s.separator(']'); !ok {
			return nil, false
		} else if done {
			return out, true
		}
	}
}

// separator reads what follows a value inside an object or array: end
// closes it (done); a comma must be followed by more input.
func (s *scanner) separator(end byte) (done, ok bool) {
	switch s.b[s.i] {
	case end:
		s.i++
		return true, true
	case ',':
		s.i++
		return false, s.skipSpace()
	}
	return false, false
}

// str reads a string. Plain ASCII is copied as it is; a string with an
// escape or another byte is decoded by encoding/json itself, so invalid
// UTF-8 and escapes read exactly as there.
// key reads an object's key: str, without allocating for a plain key that
// is one of names.
func (s *scanner) key() (string, bool) {
	if s.names != nil {
		if end := plainEnd(s.b, s.i); end > 0 {
			if k, ok := s.names[string(s.b[s.i+1:end])]; ok { // no allocation: a map lookup by bytes
				s.i = end + 1
				return k, true
			}
		}
	}
	return s.str()
}

// plainEnd is where the string starting at b[i] ends (its closing quote)
// when it holds no escape or non-ASCII byte; 0 otherwise.
func plainEnd(b []byte, i int) int {
	if i >= len(b) || b[i] != '"' {
		return 0
	}
	for j := i + 1; j < len(b); j++ {
		switch c := b[j]; {
		case c == '"':
			return j
		case c == '\\' || c < 0x20 || c >= 0x80:
			return 0
		}
	}
	return 0
}

func (s *scanner) str() (string, bool) {
	if s.i >= len(s.b) || s.b[s.i] != '"' {
		return "", false
	}
	start := s.i + 1
	plain := true
	for j := start; j < len(s.b); j++ {
		switch c := s.b[j]; {
		case c == '"':
			s.i = j + 1
			if plain {
				return protocolKey(s.b[start:j]), true
			}
			var out string
			if json.Unmarshal(s.b[start-1:j+1], &out) != nil {
				return "", false
			}
			return out, true
		case c == '\\':
			plain = false
			j++ // the escaped byte cannot end the string
		case c < 0x20:
			return "", false
		case c >= 0x80:
			plain = false
		}
	}
	return "", false
}

// protocolKey is b as a string, without an allocation for the member
// names every request and answer of the V1 protocol carries.
func protocolKey(b []byte) string {
	switch string(b) {
	case "instances":
		return "instances"
	case "inputs":
		return "inputs"
	case "predictions":
		return "predictions"
	}
	return string(b)
}

// number reads a number in JSON's grammar as float64, as encoding/json
// does for an any; false for a malformed or out-of-range one.
func (s *scanner) number() (float64, bool) {
	j := numberEnd(s.b, s.i)
	if j < 0 {
		return 0, false
	}
	f, err := strconv.ParseFloat(string(s.b[s.i:j]), 64)
	if err != nil {
		return 0, false
	}
	s.i = j
	return f, true
}

// numberEnd is the index after the number in JSON's grammar starting at
// b[i]; -1 when none starts there.
func numberEnd(b []byte, j int) int {
	if j < len(b) && b[j] == '-' {
		j++
	}
	switch {
	case j < len(b) && b[j] == '0':
		j++
	case j < len(b) && b[j] >= '1' && b[j] <= '9':
		j = digits(b, j)
	default:
		return -1
	}
	if j < len(b) && b[j] == '.' {
		k := digits(b, j+1)
		if k == j+1 {
			return -1
		}
		j = k
	}
	if j < len(b) && (b[j] == 'e' || b[j] == 'E') {
		j++
		if j < len(b) && (b[j] == '+' || b[j] == '-') {
			j++
		}
		k := digits(b, j)
		if k == j {
			return -1
		}
		j = k
	}
	return j
}

// digits returns the index after the decimal digits of b from j.
func digits(b []byte, j int) int {
	for j < len(b) && b[j] >= '0' && b[j] <= '9' {
		j++
	}
	return j
}
