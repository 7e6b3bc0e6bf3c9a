package payload_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/modelgate/modelgate/modelgatetest"
	"github.com/modelgate/modelgate/payload"
)

// FuzzReceive posts one request event and one response event, in either
// order, with the same Ce-Id, fuzzed Ce-Annotations and Content-Type and
// fuzzed bodies, to a fresh Receiver, as the KServe logger does in binary
// mode; then reads the version's window. Properties: nothing panics; every
// event is answered 200, 400 or 415 (400 and 415 with a message); the
// counters add up; and a small input never allocates much (the receiver
// allocates per value it reads, not per value a header or shape claims).
// Seeds: testdata/fuzz/FuzzReceive.
func FuzzReceive(f *testing.F) {
	f.Fuzz(func(t *testing.T, annotations, contentType string, request, response []byte, responseFirst bool) {
		size := len(annotations) + len(contentType) + len(request) + len(response)
		modelgatetest.WantBoundedAlloc(t, size, func() { receivePair(t, annotations, contentType, request, response, responseFirst) })
	})
}

func receivePair(t *testing.T, annotations, contentType string, request, response []byte, responseFirst bool) {
	r := payload.NewReceiver("demand-forecast")
	r.Service = "demand-forecast"
	r.Actuals = payload.NewActuals()
	events := []struct {
		typ  string
		body []byte
	}{{payload.TypeRequest, request}, {payload.TypeResponse, response}}
	if responseFirst {
		events[0], events[1] = events[1], events[0]
	}
	ok := 0
	for _, e := range events {
		if postEvent(t, r, e.typ, annotations, contentType, e.body) {
			ok++
		}
	}
	st := r.Stats()
	if st.Events != 2 || st.Malformed != int64(2-ok) || st.Paired+st.NoVersion+int64(st.Pending) != int64(min(ok, 1)) {
		t.Fatalf("%d of 2 events accepted, stats %+v", ok, st)
	}
	s, c := r.Window("1", "2")
	if s.Requests < 0 || c.Requests < 0 || s.Requests > 1<<20 {
		t.Fatalf("window %d and %d requests", s.Requests, c.Requests)
	}
}

// postEvent posts one event and reports whether it was accepted (200).
func postEvent(t *testing.T, r *payload.Receiver, typ, annotations, contentType string, body []byte) bool {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
	req.Header.Set(payload.HeaderID, "e-1")
	req.Header.Set(payload.HeaderType, typ)
	req.Header.Set(payload.HeaderSource, "http://localhost:9081/")
	req.Header.Set(payload.HeaderService, "demand-forecast")
	req.Header.Set(payload.HeaderAnnotations, annotations)
	req.Header.Set("Content-Type", contentType)
	w := httptest.NewRecorder()
	r.ServeHTTP(w, req)
	switch w.Code {
	case http.StatusOK:
		return true
	case http.StatusBadRequest, http.StatusUnsupportedMediaType:
		if w.Body.Len() == 0 {
			t.Fatalf("status %d without a message", w.Code)
		}
		return false
	}
	t.Fatalf("status %d: %s", w.Code, w.Body)
	return false
}
