package gateway_test

import (
	"net/http"
	"testing"
	"time"
)

// The gateway's own HTTP/1.1 connections to an upstream read any answer
// framing, and survive the upstream closing an idle one.
func TestUpstreamConn_FramingAndStaleConnections(t *testing.T) {
	up := newScriptedUpstream(t, "v1", func(s *http.Server) { s.IdleTimeout = 20 * time.Millisecond })
	e := servedBy(t, nil, map[string]*scriptedUpstream{"1": up})
	url := e.ts.URL + "/v1/models/iris:predict"
	answers := map[string]func(w http.ResponseWriter){
		"content-length": func(w http.ResponseWriter) { _, _ = w.Write([]byte(`{"predictions":[1]}`)) },
		"chunked": func(w http.ResponseWriter) {
			_, _ = w.Write([]byte(`{"predictions":`))
			w.(http.Flusher).Flush()
			_, _ = w.Write([]byte(`[1]}`))
		},
		"connection close": func(w http.ResponseWriter) {
			w.Header().Set("Connection", "close")
			_, _ = w.Write([]byte(`{"predictions":[1]}`))
		},
	}
	go func() {
		for range up.received {
		}
	}()
	for name, answer := range answers {
		up.setAnswer(func(w http.ResponseWriter, _ *http.Request, _ []byte) { answer(w) })
		for i := range 3 {
			if st, b, err := postTo(t, t.Context(), url, `{"instances":[1]}`); err != nil || st != 200 || b != `{"predictions":[1]}` {
				t.Fatalf("%s, request %d: %d %s %v", name, i, st, b, err)
			}
		}
	}
	// the upstream closes the kept connection while it is idle: after 60 ms
	// the next request is sent from within the read of its answer
	// (sendOnReadIdle), after 200 ms the plain way
	for _, idle := range []time.Duration{60 * time.Millisecond, 200 * time.Millisecond} {
		time.Sleep(idle)
		if st, b, err := postTo(t, t.Context(), url, `{"instances":[1]}`); err != nil || st != 200 {
			t.Fatalf("after the upstream closed the connection idle %s: %d %s %v", idle, st, b, err)
		}
	}
	if w := e.observe(); w.Stable.Errors != 0 || w.Stable.Requests != 11 {
		t.Fatalf("figures %+v", w.Stable)
	}
}

// An upstream that drops the connection without answering is an error
// the client sees (502-class answers from the gateway are 500s), counted
// once, and not retried for ever.
func TestUpstreamConn_DroppedConnection(t *testing.T) {
	up := newScriptedUpstream(t, "v1")
	e := servedBy(t, nil, map[string]*scriptedUpstream{"1": up})
	up.setAnswer(func(w http.ResponseWriter, _ *http.Request, _ []byte) {
		c, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			c.Close()
		}
	})
	st, b, err := postTo(t, t.Context(), e.ts.URL+"/v1/models/iris:predict", `{"instances":[1]}`)
	if err != nil || st != 500 {
		t.Fatalf("dropped connection: %d %s %v", st, b, err)
	}
	if n := len(up.received); n > 2 {
		t.Fatalf("the upstream received the request %d times", n)
	}
	if w := e.observe(); w.Stable.Errors != 1 || w.Stable.Requests != 1 {
		t.Fatalf("figures %+v", w.Stable)
	}
}
