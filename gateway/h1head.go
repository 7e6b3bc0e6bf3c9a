package gateway

import (
	"bytes"
	"net/http"
	"net/textproto"
)

// h1Head is a request head h1Server takes: what net/http's reading of the
// same bytes puts in an *http.Request.
type h1Head struct {
	method, target, host string
	header               http.Header
	length               int64 // Content-Length; 0 when absent
	lengthSeen           bool
	close                bool // Connection: close
	// the target's place in the head, until fill makes it a string
	targetStart, targetEnd int
}

// parseHead parses the request head at the start of buf. n > 0: the head
// took n bytes; n == 0: buf holds no whole head yet; n < 0: the request
// is not one h1Server takes and goes to net/http as it is.
//
// It takes only what it is sure net/http reads the same way (checked
// against http.ReadRequest by FuzzParseHead): GET or POST; HTTP/1.1; an
// origin-form path of plain characters that needs no cleaning and has no
// query; CRLF line ends; header names of token characters; values of
// visible characters, spaces and tabs; exactly one Host of plain
// characters; at most one Content-Length of digits. A chunked or
// expecting body, an upgrade, a Pragma, any other Connection option, or
// more than maxHeadFields fields go to net/http.
func parseHead(buf []byte, reuse *headStore) (h h1Head, n int) {
	lineEnd := lineAt(buf)
	if lineEnd <= 0 {
		return h, lineEnd // 0: no whole line yet; -1: a bare LF
	}
	if lineEnd == 2 || !h.requestLine(buf[:lineEnd-2]) {
		return h, -1 // an empty first line is net/http's to read
	}
	// The fields are checked first and kept as offsets, so that one string
	// can then hold the target, Host and every value: one allocation a
	// head when the connection's header map and values are reused.
	var fields [maxHeadFields]headField
	nf, host, end := 0, -1, 0
	for p := lineEnd; ; {
		next := lineAt(buf[p:])
		if next <= 0 {
			return h, next
		}
		if next == 2 { // the empty line: the head ends
			end = p + 2
			break
		}
		e := p + next - 2 // the line's '\r'
		f, ok := field(buf, p, e)
		if !ok || nf == maxHeadFields {
			return h, -1
		}
		value := buf[f.value:f.end]
		key, known := knownKey(buf[p:f.colon])
		switch known {
		case keyHost:
			if host >= 0 || !plainHost(value) {
				return h, -1
			}
			host = nf
		case keyContentLength:
			if h.lengthSeen || !h.contentLength(value) {
				return h, -1
			}
		case keyConnection:
			if !h.connection(value) {
				return h, -1
			}
		case keyRefused:
			return h, -1
		}
		f.key = int8(key)
		fields[nf] = f
		nf++
		p = e + 2
	}
	if host < 0 {
		return h, -1
	}
	h.fill(string(buf[:end]), fields[:nf], host, reuse)
	return h, end
}

// headStore is a connection's header map and values, reused by each of
// its requests: a handler does not keep its request's header past its
// return, as it does not keep its ResponseWriter.
type headStore struct {
	header http.Header
	values []string
}

// headField is a header field's place in the head: its name ends at
// colon, its value is [value, end); key is its canonical name when known.
type headField struct {
	colon, value, end int32
	key               int8 // an index in headKeys; -1 for none
}

// fill sets h's target, Host and header from head, the head's text:
// every string a slice of it. net/http keeps Host out of the map. The
// header is reuse's, cleared, or a new one when reuse is nil.
func (h *h1Head) fill(head string, fields []headField, host int, reuse *headStore) {
	h.target = head[h.targetStart:h.targetEnd]
	if reuse == nil {
		reuse = &headStore{}
	}
	if reuse.header == nil {
		reuse.header = make(http.Header, len(fields)-1)
	}
	clear(reuse.header)
	if cap(reuse.values) < len(fields) {
		reuse.values = make([]string, len(fields), max(len(fields), 8))
	}
	values := reuse.values[:len(fields)]
	clear(values)
	h.header = reuse.header
	for i, f := range fields {
		v := head[f.value:f.end]
		if i == host {
			h.host = v
			continue
		}
		var key string
		if f.key >= 0 {
			key = headKeys[f.key].name
		} else {
			start := f.colon - 1
			for start > 0 && head[start-1] != '\n' {
				start--
			}
			key = textproto.CanonicalMIMEHeaderKey(head[start:f.colon])
		}
		values[i] = v
		if prev, ok := h.header[key]; ok {
			h.header[key] = append(prev[:len(prev):len(prev)], v)
			continue
		}
		h.header[key] = values[i : i+1 : i+1]
	}
}

// maxHeadFields bounds the header fields of a request h1Server takes.
const maxHeadFields = 32

// lineAt returns the length of buf's first line, its CRLF included: 0
// when buf holds no whole line, -1 when the line ends in a bare LF
// (net/http's reading of that is its own).
func lineAt(buf []byte) int {
	i := bytes.IndexByte(buf, '\n')
	switch {
	case i < 0:
		return 0
	case i == 0 || buf[i-1] != '\r':
		return -1
	}
	return i + 1
}

// requestLine parses "GET|POST SP path SP HTTP/1.1".
func (h *h1Head) requestLine(line []byte) bool {
	switch {
	case bytes.HasPrefix(line, []byte("POST ")):
		h.method, line = http.MethodPost, line[5:]
	case bytes.HasPrefix(line, []byte("GET ")):
		h.method, line = http.MethodGet, line[4:]
	default:
		return false
	}
	sp := bytes.IndexByte(line, ' ')
	if sp < 0 || string(line[sp+1:]) != "HTTP/1.1" || !cleanPath(line[:sp]) {
		return false
	}
	h.targetStart = len(h.method) + 1
	h.targetEnd = h.targetStart + sp
	return true
}

// cleanPath reports whether p is a path that net/http takes as it is:
// unescaped (plain characters only), no query, and unchanged by cleaning
// (no empty, "." or ".." segment but a final empty one).
func cleanPath(p []byte) bool {
	if len(p) == 0 || p[0] != '/' || len(p) > 2048 {
		return false
	}
	seg := 1
	for i := 1; i <= len(p); i++ {
		if i < len(p) && p[i] != '/' {
			if !pathByte(p[i]) {
				return false
			}
			continue
		}
		s := p[seg:i]
		if (len(s) == 0 && i < len(p)) || string(s) == "." || string(s) == ".." {
			return false
		}
		seg = i + 1
	}
	return true
}

// pathByte reports whether c stands for itself in a path: the characters
// url.URL.EscapedPath leaves as they are, so Path and the escaped path
// net/http's router reads are the same bytes.
func pathByte(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	switch c {
	case '-', '_', '.', '~', ':', '@', '$', '&', '+', ',', ';', '=':
		return true
	}
	return false
}

// field finds the name and the value, without the spaces around it, of
// the header line head[start:end]; ok is false for a continuation line, a
// name of other than token characters (a space before the colon among
// them) or a value with control characters.
func field(head []byte, start, end int) (f headField, ok bool) {
	colon := bytes.IndexByte(head[start:end], ':')
	if colon <= 0 || !tokenBytes(head[start:start+colon]) {
		return f, false
	}
	f.colon, f.value, f.end = int32(start+colon), int32(start+colon+1), int32(end)
	for f.value < f.end && (head[f.value] == ' ' || head[f.value] == '\t') {
		f.value++
	}
	for f.end > f.value && (head[f.end-1] == ' ' || head[f.end-1] == '\t') {
		f.end--
	}
	return f, plainValue(head[f.value:f.end])
}

// plainHost reports whether a Host value is a non-empty name or address
// of characters net/http takes as they are.
func plainHost(v []byte) bool {
	if len(v) == 0 {
		return false
	}
	for _, c := range v {
		if !(pathByte(c) && c != '@' && c != '$' && c != '&' && c != '+' && c != ',' && c != ';' && c != '=' || c == '[' || c == ']') {
			return false
		}
	}
	return true
}

// contentLength reads a Content-Length of digits only.
func (h *h1Head) contentLength(v []byte) bool {
	if len(v) == 0 || len(v) > 15 {
		return false
	}
	var n int64
	for _, c := range v {
		if c < '0' || c > '9' {
			return false
		}
		n = n*10 + int64(c-'0')
	}
	h.length, h.lengthSeen = n, true
	return true
}

// connection reads a Connection value of "close" and "keep-alive"
// options only.
func (h *h1Head) connection(v []byte) bool {
	for len(v) > 0 {
		opt := v
		if i := bytes.IndexByte(v, ','); i >= 0 {
			opt, v = v[:i], v[i+1:]
		} else {
			v = nil
		}
		opt = bytes.Trim(opt, " \t")
		switch {
		case len(opt) == 0, bytes.EqualFold(opt, []byte("keep-alive")):
		case bytes.EqualFold(opt, []byte("close")):
			h.close = true
		default:
			return false
		}
	}
	return true
}

// What parseHead does with a known field.
const (
	keyPlain = iota
	keyHost
	keyContentLength
	keyConnection
	keyRefused // the request goes to net/http
)

// headKeys are the canonical names of fields requests often carry, so
// their keys cost no allocation, and of those parseHead treats apart.
var headKeys = [...]struct {
	name string
	kind int
}{
	{"Host", keyHost},
	{"Content-Length", keyContentLength},
	{"Content-Type", keyPlain},
	{"Connection", keyConnection},
	{"Accept", keyPlain},
	{"Accept-Encoding", keyPlain},
	{"User-Agent", keyPlain},
	{"Authorization", keyPlain},
	{HeaderRequestID, keyPlain},
	{HeaderRequestKey, keyPlain},
	{"Traceparent", keyPlain},
	{"Transfer-Encoding", keyRefused},
	{"Expect", keyRefused},
	{"Upgrade", keyRefused},
	{"Pragma", keyRefused}, // net/http may add a Cache-Control for it
	{"Http2-Settings", keyRefused},
}

// knownKey returns the index in headKeys of a known field and what it is;
// -1 for any other.
func knownKey(name []byte) (int, int) {
	for i, k := range headKeys {
		if len(k.name) == len(name) && (string(name) == k.name || equalFoldASCII(name, k.name)) {
			return i, k.kind
		}
	}
	return -1, keyPlain
}

// equalFoldASCII reports whether b is s with any ASCII letters' case
// changed.
func equalFoldASCII(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range b {
		c, d := b[i], s[i]
		if c|0x20 != d|0x20 || (c|0x20 < 'a' || c|0x20 > 'z') && c != d {
			return false
		}
	}
	return true
}
