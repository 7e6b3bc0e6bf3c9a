package gateway

import (
	"bufio"
	"bytes"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
)

// headCases are request heads, each marked with whether h1Server takes
// it; those it does not take go to net/http as they are.
var headCases = []struct {
	head  string
	taken bool
}{
	{"POST /v1/models/m:predict HTTP/1.1\r\nHost: localhost:8080\r\nContent-Length: 12\r\nContent-Type: application/json\r\n\r\n", true},
	{"GET /v2/health/ready HTTP/1.1\r\nHost: a\r\n\r\n", true},
	{"POST /staging/v2/models/m/infer HTTP/1.1\r\nhost: a\r\ncontent-length: 0\r\nx-request-id: abc\r\nX-REQUEST-KEY: k\r\nX-Custom-thing:  v \t\r\nX-Custom-Thing: w\r\n\r\n", true},
	{"POST / HTTP/1.1\r\nHost: [::1]:80\r\nConnection: close\r\n\r\n", true},
	{"POST / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, Close\r\n\r\n", true},
	{"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 007\r\n\r\n", true},
	{"POST /a/b/ HTTP/1.1\r\nHost: a\r\nEmpty:\r\n\r\n", true},
	{"POST /a;b=c,d@e$f&g+h~i HTTP/1.1\r\nHost: a\r\nX: caf\xc3\xa9\r\n\r\n", false}, // obs-text
	{"GET / HTTP/1.0\r\nHost: a\r\n\r\n", false},
	{"PUT / HTTP/1.1\r\nHost: a\r\n\r\n", false},
	{"post / HTTP/1.1\r\nHost: a\r\n\r\n", false},
	{"GET /a%2Fb HTTP/1.1\r\nHost: a\r\n\r\n", false},
	{"GET /a?b=c HTTP/1.1\r\nHost: a\r\n\r\n", false},
	{"GET /a/../b HTTP/1.1\r\nHost: a\r\n\r\n", false},
	{"GET /a//b HTTP/1.1\r\nHost: a\r\n\r\n", false},
	{"GET /a/. HTTP/1.1\r\nHost: a\r\n\r\n", false},
	{"GET http://a/b HTTP/1.1\r\nHost: a\r\n\r\n", false},
	{"GET * HTTP/1.1\r\nHost: a\r\n\r\n", false},
	{"GET  / HTTP/1.1\r\nHost: a\r\n\r\n", false},
	{"GET / HTTP/1.1 \r\nHost: a\r\n\r\n", false},
	{"GET / HTTP/1.1\r\n\r\n", false},
	{"GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", false},
	{"GET / HTTP/1.1\r\nHost:\r\n\r\n", false},
	{"GET / HTTP/1.1\r\nHost: a b\r\n\r\n", false},
	{"GET / HTTP/1.1\r\nHost: a@b\r\n\r\n", false},
	{"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n", false},
	{"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n", false},
	{"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +1\r\n\r\n", false},
	{"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1 2\r\n\r\n", false},
	{"POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n\r\n", false},
	{"GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n", false},
	{"GET / HTTP/1.1\r\nHost: a\r\nPragma: no-cache\r\n\r\n", false},
	{"GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n", false},
	{"GET / HTTP/1.1\r\nHost: a\r\nX : a\r\n\r\n", false},
	{"GET / HTTP/1.1\r\nHost: a\r\nX\x00: a\r\n\r\n", false},
	{"GET / HTTP/1.1\r\nHost: a\r\nX: a\x00b\r\n\r\n", false},
	{"GET / HTTP/1.1\r\nHost: a\r\nX: a\x7fb\r\n\r\n", false},
	{"GET / HTTP/1.1\nHost: a\n\n", false},
	{"GET / HTTP/1.1\r\nHost: a\n\r\n", false},
	{"\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", false},
	{"GET / HTTP/1.1\r\nHost: a\r\nnocolon\r\n\r\n", false},
}

// TestParseHead_AgreesWithNetHTTP: every head parseHead takes is read the
// same by http.ReadRequest, and the table's verdicts hold.
func TestParseHead_AgreesWithNetHTTP(t *testing.T) {
	for _, c := range headCases {
		_, n := parseHead([]byte(c.head), nil)
		if got := n > 0; got != c.taken {
			t.Errorf("parseHead(%q) = %d, taken %v; want taken %v", c.head, n, got, c.taken)
		}
		if n > 0 && n != len(c.head) {
			t.Errorf("parseHead(%q) took %d bytes of %d", c.head, n, len(c.head))
		}
		checkHeadAgrees(t, []byte(c.head+"body"))
	}
}

// TestParseHead_Incomplete: a strict prefix of a head is never taken.
func TestParseHead_Incomplete(t *testing.T) {
	for _, c := range headCases {
		for i := 0; i < len(c.head); i++ {
			if _, n := parseHead([]byte(c.head[:i]), nil); n > 0 {
				t.Fatalf("parseHead(%q) = %d for a prefix of %q", c.head[:i], n, c.head)
			}
		}
	}
}

// TestParseHead_HeaderFieldsBound: past maxHeadFields fields the request
// goes to net/http.
func TestParseHead_HeaderFieldsBound(t *testing.T) {
	head := func(fields int) string {
		return "GET / HTTP/1.1\r\nHost: a\r\n" + strings.Repeat("X-A: b\r\n", fields-1) + "\r\n"
	}
	if _, n := parseHead([]byte(head(maxHeadFields)), nil); n <= 0 {
		t.Errorf("%d fields: not taken", maxHeadFields)
	}
	if _, n := parseHead([]byte(head(maxHeadFields+1)), nil); n >= 0 {
		t.Errorf("%d fields: taken", maxHeadFields+1)
	}
}

// checkHeadAgrees fails t when parseHead takes b's head and net/http
// reads it otherwise, or not at all.
func checkHeadAgrees(t *testing.T, b []byte) {
	t.Helper()
	h, n := parseHead(b, nil)
	if n <= 0 {
		return
	}
	br := bufio.NewReaderSize(bytes.NewReader(b), len(b)+16)
	r, err := http.ReadRequest(br)
	if err != nil {
		t.Fatalf("parseHead took %q; http.ReadRequest: %v", b[:n], err)
	}
	if rest := br.Buffered(); rest != len(b)-n {
		t.Errorf("%q: net/http's head is %d bytes, parseHead's %d", b, len(b)-rest, n)
	}
	if r.Method != h.method || r.URL.Path != h.target || r.URL.RawQuery != "" || r.URL.RawPath != "" ||
		r.RequestURI != h.target || r.URL.EscapedPath() != h.target || r.Host != h.host ||
		r.ContentLength != h.length || r.Close != h.close || r.ProtoMajor != 1 || r.ProtoMinor != 1 {
		t.Errorf("%q: net/http reads %s %q (raw %q, query %q) host %q length %d close %v HTTP/%d.%d; parseHead %s %q host %q length %d close %v",
			b[:n], r.Method, r.URL.Path, r.URL.RawPath, r.URL.RawQuery, r.Host, r.ContentLength, r.Close, r.ProtoMajor, r.ProtoMinor,
			h.method, h.target, h.host, h.length, h.close)
	}
	if !reflect.DeepEqual(map[string][]string(r.Header), map[string][]string(h.header)) {
		t.Errorf("%q: net/http's header %v, parseHead's %v", b[:n], r.Header, h.header)
	}
	if h.length == 0 && r.Body != http.NoBody {
		t.Errorf("%q: net/http sees a body", b[:n])
	}
	if h.length > 0 && (len(r.TransferEncoding) != 0 || r.Body == http.NoBody) {
		t.Errorf("%q: net/http reads the body otherwise: %v", b[:n], r.TransferEncoding)
	}
}

// FuzzParseHead checks checkHeadAgrees on arbitrary heads.
func FuzzParseHead(f *testing.F) {
	for _, c := range headCases {
		f.Add([]byte(c.head))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		checkHeadAgrees(t, b)
	})
}

// TestParseHead_ReusedHeader: a connection's header map, reused, holds
// only the last head's fields.
func TestParseHead_ReusedHeader(t *testing.T) {
	var reuse headStore
	first, _ := parseHead([]byte("GET /a HTTP/1.1\r\nHost: h\r\nX-A: 1\r\nAccept: */*\r\nX-B: 2\r\nX-B: 3\r\n\r\n"), &reuse)
	if got := fmt.Sprint(first.header); got != "map[Accept:[*/*] X-A:[1] X-B:[2 3]]" {
		t.Fatalf("first header %s", got)
	}
	second, _ := parseHead([]byte("GET /b HTTP/1.1\r\nX-C: 4\r\nHost: h\r\n\r\n"), &reuse)
	if got := fmt.Sprint(second.header); got != "map[X-C:[4]]" || second.target != "/b" || second.host != "h" {
		t.Fatalf("second head %s %q %q", got, second.target, second.host)
	}
}
