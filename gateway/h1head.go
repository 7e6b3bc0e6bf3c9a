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
func parseHead(buf []byte) (h h1Head, n int) {
	end := headEnd(buf)
	if end <= 0 {
		return h, end
	}
	lineEnd := bytes.IndexByte(buf, '\n') - 1
	if !h.requestLine(buf[:lineEnd]) {
		return h, -1
	}
	// The fields are checked first and kept as offsets, so that one string
	// can then hold the target, Host and every value, one slice every
	// field's value and one map the fields: three allocations a head.
	var fields [maxHeadFields]headField
	nf, host := 0, -1
	for p := lineEnd + 2; p < end-2; {
		e := p + bytes.IndexByte(buf[p:], '\n') - 1
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
		f.key = key
		fields[nf] = f
		nf++
		p = e + 2
	}
	if host < 0 {
		return h, -1
	}
	h.fill(string(buf[:end]), fields[:nf], host)
	return h, end
}

// headField is a header field's place in the head: its name ends at
// colon, its value is [value, end); key is its canonical name when known.
type headField struct {
	colon, value, end int
	key               string
}

// fill sets h's target, Host and header from head, the head's text:
// every string a slice of it. net/http keeps Host out of the map.
func (h *h1Head) fill(head string, fields []headField, host int) {
	h.target = head[h.targetStart:h.targetEnd]
	values := make([]string, len(fields))
	h.header = make(http.Header, len(fields)-1)
	for i, f := range fields {
		v := head[f.value:f.end]
		if i == host {
			h.host = v
			continue
		}
		key := f.key
		if key == "" {
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

// headEnd returns the length of the head at buf's start: 0 when buf does
// not hold all of it, -1 when a line ends in a bare LF or the first line
// is empty (net/http's reading of those is its own).
func headEnd(buf []byte) int {
	start := 0
	for {
		i := bytes.IndexByte(buf[start:], '\n')
		if i < 0 {
			return 0
		}
		j := start + i
		if j == 0 || buf[j-1] != '\r' {
			return -1
		}
		if j-1 == start {
			if start == 0 {
				return -1
			}
			return j + 1
		}
		start = j + 1
	}
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
	f.colon, f.value, f.end = start+colon, start+colon+1, end
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

// knownKey returns the canonical name of a known field and what it is;
// an empty key for any other.
func knownKey(name []byte) (string, int) {
	for _, k := range headKeys {
		if len(k.name) == len(name) && equalFoldASCII(name, k.name) {
			return k.name, k.kind
		}
	}
	return "", keyPlain
}

func equalFoldASCII(b []byte, s string) bool {
	for i := range b {
		c, d := b[i], s[i]
		if c|0x20 != d|0x20 || (c|0x20 < 'a' || c|0x20 > 'z') && c != d {
			return false
		}
	}
	return true
}
