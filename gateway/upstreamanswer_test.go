package gateway

import (
	"bufio"
	"bytes"
	"net/http"
	"testing"
)

// quickAnswerSeeds are answers quickAnswer must read as ReadResponse
// does, or leave to it.
var quickAnswerSeeds = []string{
	"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 19\r\n\r\n{\"predictions\":[0]}",
	"HTTP/1.1 200 OK\r\ncontent-length:  3 \r\nDate: x\r\n\r\n[1]",
	"HTTP/1.1 400 Bad Request\r\nContent-Length: 13\r\n\r\n{\"error\":\"x\"}",
	"HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n",
	"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n[1]HTTP/1.1 200 OK\r\n",
	"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n[1]",
	"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n[1]",
	"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n[1]x",
	"HTTP/1.1 200 OK\r\nContent-Length: +3\r\n\r\n[1]",
	"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n[1]\r\n0\r\n\r\n",
	"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 3\r\n\r\n[1]",
	"HTTP/1.1 200 OK\r\n\r\n[1]",
	"HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\n[1]",
	"HTTP/1.1 204 No Content\r\nContent-Length: 3\r\n\r\n[1]",
	"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n[1]",
	"HTTP/1.1 200 OK\r\nX-A: 1\r\n folded\r\nContent-Length: 3\r\n\r\n[1]",
	"HTTP/1.1 200 OK\r\nX A: 1\r\nContent-Length: 3\r\n\r\n[1]",
	"HTTP/1.1 200 OK\r\nX-A: \x01\r\nContent-Length: 3\r\n\r\n[1]",
	"HTTP/1.1 20x OK\r\nContent-Length: 3\r\n\r\n[1]",
	"HTTP/1.1 2000 OK\r\nContent-Length: 3\r\n\r\n[1]",
	"HTTP/1.1 200 OK\nContent-Length: 3\n\n[1]",
	"HTTP/1.1 200 OK\r\nNoColon\r\nContent-Length: 3\r\n\r\n[1]",
	"HTTP/1.1 200 OK\r\nContent-Length: 99999999999\r\n\r\n[1]",
}

// checkQuickAnswer compares quickAnswer with http.ReadResponse on in:
// whatever quickAnswer reads, ReadResponse reads alike, leaving the same
// bytes behind. It returns whether quickAnswer read it.
func checkQuickAnswer(t *testing.T, in []byte) bool {
	t.Helper()
	fast := bufio.NewReaderSize(bytes.NewReader(in), 4096)
	if _, err := fast.Peek(1); err != nil {
		return false
	}
	status, body, ok := quickAnswer(fast)
	ref := bufio.NewReaderSize(bytes.NewReader(in), 4096)
	_, _ = ref.Peek(1)
	if !ok {
		if fast.Buffered() != ref.Buffered() {
			t.Fatalf("%q: quickAnswer declined but consumed %d bytes", in, ref.Buffered()-fast.Buffered())
		}
		return false
	}
	resp, err := http.ReadResponse(ref, nil)
	if err != nil {
		t.Fatalf("%q: quickAnswer read %d %q, ReadResponse failed: %v", in, status, body, err)
	}
	defer resp.Body.Close()
	want, err := readAnswer(resp)
	if err != nil || resp.StatusCode != status || !bytes.Equal(want, body) || resp.Close {
		t.Fatalf("%q: quickAnswer read %d %q; ReadResponse %d %q (close %v, %v)", in, status, body, resp.StatusCode, want, resp.Close, err)
	}
	if fast.Buffered() != ref.Buffered() {
		t.Fatalf("%q: %d bytes left after quickAnswer, %d after ReadResponse", in, fast.Buffered(), ref.Buffered())
	}
	return true
}

func TestQuickAnswer_AgreesWithReadResponse(t *testing.T) {
	read := 0
	for _, in := range quickAnswerSeeds {
		if checkQuickAnswer(t, []byte(in)) {
			read++
		}
	}
	// the plain answers (the first five) must take the quick path, or
	// this test compares nothing
	if read < 5 {
		t.Fatalf("quickAnswer read %d of the seeds, want at least the 5 plain ones", read)
	}
	if !checkQuickAnswer(t, []byte(quickAnswerSeeds[0])) {
		t.Fatal("the common answer did not take the quick path")
	}
}

func FuzzQuickAnswer(f *testing.F) {
	for _, in := range quickAnswerSeeds {
		f.Add([]byte(in))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) > 4096 || !bytes.Contains(in, []byte("\r\n\r\n")) {
			return // beyond one buffer, or no header end: quickAnswer declines
		}
		checkQuickAnswer(t, in)
	})
}

// tokenByte's masks give RFC 9110's token set: visible ASCII but the
// delimiters.
func TestTokenByte(t *testing.T) {
	for c := 0; c < 256; c++ {
		want := c > ' ' && c < 0x7f && !bytes.ContainsRune([]byte(`"(),/:;<=>?@[\]{}`), rune(c))
		if got := tokenByte(byte(c)); got != want {
			t.Errorf("tokenByte(%#x) = %v, want %v", c, got, want)
		}
	}
}
