package gateway_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelgate/modelgate/gateway"
)

func TestLimits_Body(t *testing.T) {
	e := newTestEnv(t, func(o *gateway.Options) { o.MaxBodyBytes = 100 })
	e.register("1", 1)
	e.mustSetStable("1")
	big := `{"instances": [` + strings.Repeat("[1, 2], ", 20) + `[1, 2]]}`

	r := e.call(http.MethodPost, "/v1/models/iris:predict", big, nil)
	if want := "request body is larger than the gateway's limit of 100 bytes (0.0 MiB)"; r.Status != 413 || errorOf(t, r) != want {
		t.Errorf("declared length beyond the limit: %d %s", r.Status, r.Body)
	}
	// Without a declared length the limit stops the reading.
	req := httptest.NewRequest(http.MethodPost, "/v2/models/iris/infer", io.MultiReader(strings.NewReader(big)))
	req.ContentLength = -1
	rec := httptest.NewRecorder()
	e.srv.Handler().ServeHTTP(rec, req)
	if rec.Code != 413 || !strings.Contains(rec.Body.String(), "limit of 100 bytes") {
		t.Errorf("streamed body beyond the limit: %d %s", rec.Code, rec.Body)
	}
	if r := e.call(http.MethodPost, "/v1/models/iris:predict", `{"instances": [[1, 2]]}`, nil); r.Status != 200 {
		t.Errorf("a body within the limit: %+v", r)
	}
}

// The instance limit is decided while the body is read: instances beyond
// it are never decoded.
func TestLimits_Instances(t *testing.T) {
	e := newTestEnv(t, func(o *gateway.Options) { o.MaxInstances = 3 })
	e.register("1", 1)
	e.mustSetStable("1")
	want := "request has more than the gateway's limit of 3 instances; send them in several requests"
	for name, body := range map[string]string{
		"V1":            `{"instances": [[1, 2], [1, 2], [1, 2], [1, 2]]}`,
		"V1Inputs":      `{"inputs": [[1, 2], [1, 2], [1, 2], [1, 2]]}`,
		"V1NotReadPast": `{"instances": [[1, 2], [1, 2], [1, 2], [1, 2], this is not JSON`,
	} {
		if r := e.call(http.MethodPost, "/v1/models/iris:predict", body, nil); r.Status != 400 || errorOf(t, r) != want {
			t.Errorf("%s: %d %s", name, r.Status, r.Body)
		}
	}
	v2 := `{"inputs": [{"name": "x", "shape": [4], "datatype": "FP64", "data": [1, 2, 3, 4]},
		{"name": "y", "shape": [4], "datatype": "FP64", "data": [1, 2, 3, 4]}]}`
	if r := e.call(http.MethodPost, "/v2/models/iris/infer", v2, nil); r.Status != 400 || errorOf(t, r) != want {
		t.Errorf("V2: %d %s", r.Status, r.Body)
	}
	if r := e.call(http.MethodPost, "/v1/models/iris:predict", `{"other": {"kept": [1]}, "instances": [[1, 2], [1, 2], [1, 2]]}`, nil); r.Status != 200 {
		t.Errorf("at the limit: %+v", r)
	}
	if r := e.call(http.MethodPost, "/v1/models/iris:predict", `{"instances": 7}`, nil); r.Status != 400 || errorOf(t, r) != `"instances" must be an array of instances` {
		t.Errorf("instances not an array: %+v", r)
	}
}

// Beyond MaxConcurrent predictions in flight the answer is 429 with
// Retry-After, at once.
func TestLimits_Concurrency(t *testing.T) {
	e := newTestEnv(t, func(o *gateway.Options) { o.MaxConcurrent = 1 })
	started, release := make(chan struct{}), make(chan struct{})
	e.register("1", 1).PredictFn = func(rows [][]float64) ([]float64, error) {
		close(started)
		<-release
		return make([]float64, len(rows)), nil
	}
	e.mustSetStable("1")
	done := make(chan response)
	go func() { done <- e.call(http.MethodPost, "/v1/models/iris:predict", `{"instances": [[1, 2]]}`, nil) }()
	<-started
	req := httptest.NewRequest(http.MethodPost, "/v1/models/iris:predict", strings.NewReader(`{"instances": [[1, 2]]}`))
	rec := httptest.NewRecorder()
	e.srv.Handler().ServeHTTP(rec, req)
	if rec.Code != 429 || rec.Header().Get("Retry-After") != "1" || !strings.Contains(rec.Body.String(), "its limit of 1 predictions at once") {
		t.Errorf("over the limit: %d %v %s", rec.Code, rec.Header(), rec.Body)
	}
	close(release)
	if r := <-done; r.Status != 200 {
		t.Errorf("the request in flight: %+v", r)
	}
	if w := e.observe(); w.Stable.Requests != 1 {
		t.Errorf("stable requests = %d, want 1: a refused request reached no revision", w.Stable.Requests)
	}
}

// A prediction beyond RequestTimeout stops after the batch in progress and
// answers 504; one whose client went away stops too and is not counted as
// an error.
func TestLimits_TimeoutAndCancel(t *testing.T) {
	e := newTestEnv(t, func(o *gateway.Options) { o.RequestTimeout = 30 * time.Millisecond })
	var batches atomic.Int32
	var cancelClient context.CancelFunc
	e.register("1", 1).PredictFn = func(rows [][]float64) ([]float64, error) {
		batches.Add(1)
		if cancelClient != nil {
			cancelClient()
		} else {
			time.Sleep(50 * time.Millisecond)
		}
		return make([]float64, len(rows)), nil
	}
	e.mustSetStable("1")
	body := `{"instances": [` + strings.Repeat("[1, 2], ", 4999) + `[1, 2]]}`

	r := e.call(http.MethodPost, "/v1/models/iris:predict", body, nil)
	if want := "prediction did not finish within the gateway's request timeout of 30ms"; r.Status != 504 || errorOf(t, r) != want {
		t.Errorf("timeout: %d %s", r.Status, r.Body)
	}
	if n := batches.Load(); n != 1 {
		t.Errorf("%d batches predicted after the timeout, want 1 (of 5)", n)
	}

	batches.Store(0)
	ctx, cancel := context.WithCancel(context.Background())
	cancelClient = cancel
	req := httptest.NewRequestWithContext(ctx, http.MethodPost, "/v1/models/iris:predict", strings.NewReader(body))
	e.srv.Handler().ServeHTTP(httptest.NewRecorder(), req)
	if n := batches.Load(); n != 1 {
		t.Errorf("%d batches predicted after the client went away, want 1", n)
	}
	w := e.observe()
	if w.Stable.Requests != 2 || w.Stable.Errors != 1 {
		t.Errorf("requests/errors = %d/%d, want 2/1 (the timeout is an error, the client going away is not)", w.Stable.Requests, w.Stable.Errors)
	}
}

func TestLimits_Defaults(t *testing.T) {
	e := newTestEnv(t, nil)
	e.register("1", 1)
	e.mustSetStable("1")
	body := fmt.Sprintf(`{"instances": [%s[1, 2]]}`, strings.Repeat("[1, 2], ", 10000))
	if r := e.call(http.MethodPost, "/v1/models/iris:predict", body, nil); r.Status != 400 || !strings.Contains(r.Body, "limit of 10000 instances") {
		t.Errorf("10,001 instances: %d %.200s", r.Status, r.Body)
	}
	big := `{"instances": [` + strings.Repeat(`[1, 2], `, 11<<17) + `[1, 2]]}`
	if r := e.call(http.MethodPost, "/v1/models/iris:predict", big, nil); r.Status != 413 || !strings.Contains(r.Body, "limit of 10485760 bytes (10.0 MiB)") {
		t.Errorf("%d bytes: %d %.200s", len(big), r.Status, r.Body)
	}
}
