package gateway

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// An https upstream is reached through net/http, which stops waiting only
// when its context is done: a passed-through request's deadlineContext,
// which has no timer, must still end the wait at its deadline.
func TestUpstream_HTTPSAnswersWithinDeadline(t *testing.T) {
	release := make(chan struct{})
	ts := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select { // never answers in time
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() { close(release); ts.Close() })
	spec := UpstreamSpec{URL: ts.URL, Protocol: UpstreamV1, RequestTimeout: time.Minute}
	if err := spec.normalize(); err != nil {
		t.Fatal(err)
	}
	u := &Upstream{spec: spec, base: ts.URL, hc: ts.Client()}
	ctx := deadlineContext{Context: t.Context(), deadline: time.Now().Add(200 * time.Millisecond)}
	done := make(chan error, 1)
	start := time.Now()
	go func() {
		_, _, err := u.post(ctx, "/v1/models/m:predict", []byte(`{"instances":[[1]]}`))
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil || ctx.Err() != context.DeadlineExceeded {
			t.Fatalf("answered %v, context %v; want a failure at the deadline", err, ctx.Err())
		}
		if d := time.Since(start); d < 200*time.Millisecond {
			t.Fatalf("gave up after %v, before the deadline", d)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("still waiting 10s after a 200ms deadline")
	}
}
