package loadgen_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelgate/modelgate/gateway/loadgen"
)

func TestRun(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]string{} // key -> body
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		key := r.Header.Get("X-Request-Key")
		mu.Lock()
		seen[key] = string(b)
		mu.Unlock()
		if strings.HasSuffix(key, "0") {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		w.Write([]byte(`{}`))
	}))
	defer ts.Close()

	res, err := loadgen.Run(t.Context(), loadgen.Options{
		URL:      ts.URL + "/v1/models/iris:predict",
		Rate:     400,
		Duration: 100 * time.Millisecond,
		Body:     func(i int) []byte { return []byte(fmt.Sprintf(`{"i": %d}`, i)) },
		Header:   func(i int) http.Header { return http.Header{"X-Request-Key": {fmt.Sprint(i)}} },
	})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if res.Sent != 40 || res.OK != 36 || res.Errors != 4 || res.Dropped != 0 {
		t.Errorf("result %+v, want 40 sent, 36 ok, 4 errors", res)
	}
	if len(seen) != 40 || seen["7"] != `{"i": 7}` {
		t.Errorf("server saw %d requests, request 7 = %q", len(seen), seen["7"])
	}
	if !(res.P50 <= res.P90 && res.P90 <= res.P99 && res.P99 <= res.Max && res.Max > 0) {
		t.Errorf("latencies not ordered: %+v", res)
	}
	// 40 requests over at least 97.5 ms (the last leaves at 97.5 ms).
	if res.Elapsed < 97*time.Millisecond || res.Rate <= 0 || res.Rate > 411 {
		t.Errorf("elapsed %v, rate %v/s", res.Elapsed, res.Rate)
	}
}

func TestRun_Drops(t *testing.T) {
	release := make(chan struct{})
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-release
	}))
	defer ts.Close()
	defer close(release)

	go func() {
		time.Sleep(80 * time.Millisecond)
		release <- struct{}{}
		release <- struct{}{}
	}()
	res, err := loadgen.Run(t.Context(), loadgen.Options{
		URL: ts.URL, Method: http.MethodGet, Rate: 200, Duration: 50 * time.Millisecond, Concurrency: 2,
	})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if res.Sent != 2 || res.OK != 2 || res.Dropped != 8 {
		t.Errorf("result %+v, want 2 sent and answered, 8 dropped", res)
	}
	if res.P50 < 30*time.Millisecond {
		t.Errorf("p50 %v: the answers were held for 80 ms", res.P50)
	}
}

func TestRun_Cancel(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer ts.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Millisecond)
	defer cancel()
	res, err := loadgen.Run(ctx, loadgen.Options{URL: ts.URL, Rate: 100, Duration: time.Hour})
	if err != context.DeadlineExceeded {
		t.Errorf("err = %v, want DeadlineExceeded", err)
	}
	if res.Sent < 1 || res.Sent > 5 {
		t.Errorf("sent %d in 30 ms at 100/s", res.Sent)
	}
}

func TestRun_Invalid(t *testing.T) {
	for _, o := range []loadgen.Options{
		{URL: "http://example.com/", Rate: 1, Duration: time.Second},
		{URL: "http://10.0.0.1:8080/", Rate: 1, Duration: time.Second},
		{URL: "ftp://127.0.0.1/", Rate: 1, Duration: time.Second},
		{URL: "http://127.0.0.1/", Rate: 0, Duration: time.Second},
		{URL: "http://[::1]:80/", Rate: 1, Duration: 0},
	} {
		if _, err := loadgen.Run(t.Context(), o); err == nil {
			t.Errorf("Run(%+v): no error", o)
		}
	}
}
