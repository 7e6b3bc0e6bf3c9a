package gateway

import (
	"net/http"
	"testing"
)

// wrkHead is the head wrk sends with the benchmarks' Lua script.
const wrkHead = "POST /v1/models/demand-forecast:predict HTTP/1.1\r\nHost: 127.0.0.1:9102\r\nContent-Length: 61\r\nContent-Type: application/json\r\n\r\n"

func BenchmarkParseHead(b *testing.B) {
	buf := []byte(wrkHead)
	var reuse headStore
	b.ReportAllocs()
	for b.Loop() {
		if _, n := parseHead(buf, &reuse); n != len(buf) {
			b.Fatal(n)
		}
	}
}

func BenchmarkRequestID(b *testing.B) {
	r := &http.Request{Header: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		requestID(r)
	}
}

func BenchmarkAnswerHead(b *testing.B) {
	hc := &h1Conn{}
	w := &hc.w
	w.hc = hc
	b.ReportAllocs()
	for b.Loop() {
		w.reset(false)
		h := w.Header()
		hv := []string{"2", "0d7c5e0e-8a4b-4a57-9b1e-2c4e5f6a7b8c"}
		h[HeaderModelVersion], h[HeaderRequestID] = hv[0:1:1], hv[1:2:2]
		h["Date"] = []string{"Tue, 01 Dec 2026 16:00:00 GMT"}
		writeRaw(w, []byte(`{"predictions":[0]}`))
	}
}
