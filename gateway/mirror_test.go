package gateway_test

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/gateway"
)

// keyFor returns a request key routed to the canary at percent when
// toCanary, to the stable revision otherwise.
func keyFor(t *testing.T, toCanary bool, percent int) http.Header {
	t.Helper()
	for i := range 1000 {
		k := fmt.Sprint("key-", i)
		if (gateway.StickyBucket(k) < percent) == toCanary {
			return http.Header{gateway.HeaderRequestKey: {k}}
		}
	}
	t.Fatal("no key found")
	return nil
}

// waitMirrors waits until no mirror is in flight and returns the status.
func (e *testEnv) waitMirrors() *gateway.MirrorStatus {
	e.t.Helper()
	for range 500 {
		st, err := e.dep.Status(e.t.Context(), "iris")
		if err != nil {
			e.t.Fatal(err)
		}
		if st.Mirror == nil || st.Mirror.InFlight == 0 {
			return st.Mirror
		}
		time.Sleep(2 * time.Millisecond)
	}
	e.t.Fatal("mirrors still in flight after 1s")
	return nil
}

func (e *testEnv) observe() *modelgate.Window {
	e.t.Helper()
	w, err := e.metrics.Observe(e.t.Context(), "iris")
	if err != nil {
		e.t.Fatal(err)
	}
	return w
}

// A mirrored share of the stable requests yields pairs of the canary's and
// production's answers on the same rows, without counting as the canary's
// own requests.
func TestMirror_Pairs(t *testing.T) {
	e := newTestEnv(t, seeded(11))
	e.register("1", 1) // x - y
	canary := e.register("2", 2)
	var mu sync.Mutex
	var mirroredX []float64 // the rows the canary saw from mirrors (x ≥ 0)
	canary.PredictFn = func(rows [][]float64) ([]float64, error) {
		out := make([]float64, len(rows))
		for i, r := range rows {
			out[i] = 2*r[0] - r[1]
			if r[0] >= 0 {
				mu.Lock()
				mirroredX = append(mirroredX, r[0])
				mu.Unlock()
			}
		}
		return out, nil
	}
	e.mustSetStable("1")
	e.dep.MirrorPercent = 30
	e.mustStartCanary("2", 10)

	const stableRequests, canaryRequests = 2000, 50
	toStable, toCanary := keyFor(t, false, 10), keyFor(t, true, 10)
	for i := range stableRequests {
		body := fmt.Sprintf(`{"instances": [[%d, 1], [%d, 2]]}`, i%97, i%89)
		if r := e.call(http.MethodPost, "/v1/models/iris:predict", body, toStable); r.Status != 200 || r.Version != "1" {
			t.Fatalf("stable request: %+v", r)
		}
		e.waitMirrors() // one at a time: nothing is dropped
	}
	for range canaryRequests {
		if r := e.call(http.MethodPost, "/v1/models/iris:predict", `{"instances": [[-1, 1]]}`, toCanary); r.Version != "2" {
			t.Fatalf("canary request: %+v", r)
		}
	}
	ms := e.waitMirrors()
	w := e.observe()

	if w.Canary.Requests != canaryRequests || w.Canary.Predictions.Count != canaryRequests || w.Canary.LatencyMS.Count != canaryRequests {
		t.Errorf("canary requests/predictions/latencies = %d/%d/%d, want %d each: mirrors must not count",
			w.Canary.Requests, w.Canary.Predictions.Count, w.Canary.LatencyMS.Count, canaryRequests)
	}
	if w.Stable.Paired != nil {
		t.Errorf("stable Paired = %+v, want nil", w.Stable.Paired)
	}
	p := w.Canary.Paired
	if p == nil {
		t.Fatal("canary Paired is nil with mirroring on")
	}
	// 30% of 2000 requests of 2 rows: 1200 rows ± 4 standard deviations.
	want, sd := 0.3*2*stableRequests, 2*math.Sqrt(stableRequests*0.3*0.7)
	if math.Abs(float64(p.Count)-want) > 4*sd || p.Count != int64(len(mirroredX)) {
		t.Errorf("pairs = %d (canary saw %d mirrored rows), want about %.0f", p.Count, len(mirroredX), want)
	}
	if ms == nil || ms.Pairs != p.Count || ms.Dropped != 0 || ms.Failed != 0 || ms.Percent != 30 {
		t.Errorf("mirror status %+v", ms)
	}
	// canary - stable = (2x - y) - (x - y) = x on every mirrored row.
	var sum, sumSq float64
	for _, x := range mirroredX {
		sum += x
		sumSq += x * x
	}
	if p.SumDiff != sum || p.SumSqDiff != sumSq || p.SumAbsDiff != sum {
		t.Errorf("paired differences %+v, want sum %v and sum of squares %v", p, sum, sumSq)
	}
}

// The client has its answer while the mirror still runs; mirrors beyond
// MaxMirrors are dropped and counted, never queued.
func TestMirror_DoesNotDelayAnswer(t *testing.T) {
	e := newTestEnv(t, func(o *gateway.Options) { o.MaxMirrors = 2 })
	e.register("1", 1)
	release := make(chan struct{})
	e.register("2", 2).PredictFn = func(rows [][]float64) ([]float64, error) {
		<-release
		return make([]float64, len(rows)), nil
	}
	e.mustSetStable("1")
	e.dep.MirrorPercent = 100
	e.mustStartCanary("2", 1)
	toStable := keyFor(t, false, 1)

	for i := range 5 {
		r := e.call(http.MethodPost, "/v1/models/iris:predict", `{"instances": [[3, 1]]}`, toStable)
		if r.Status != 200 || r.Body != `{"predictions":[2]}` {
			t.Fatalf("request %d answered %+v while its mirror is blocked", i, r)
		}
	}
	st, err := e.dep.Status(t.Context(), "iris")
	if err != nil {
		t.Fatal(err)
	}
	if want := (gateway.MirrorStatus{Percent: 100, InFlight: 2, Dropped: 3}); st.Mirror == nil || *st.Mirror != want {
		t.Errorf("mirror status while blocked = %+v, want %+v", st.Mirror, want)
	}
	close(release)
	if ms := e.waitMirrors(); ms.Pairs != 2 || ms.Dropped != 3 {
		t.Errorf("mirror status after release = %+v, want 2 pairs and 3 dropped", ms)
	}
	if p := e.observe().Canary.Paired; p == nil || p.Count != 2 || p.SumDiff != -4 {
		t.Errorf("paired = %+v, want 2 pairs of (0, 2)", p)
	}
}

func TestMirror_Off(t *testing.T) {
	e := newTestEnv(t, seeded(1))
	e.register("1", 1)
	e.register("2", 2)
	e.mustSetStable("1")
	e.mustStartCanary("2", 50)
	e.versions(20, nil)
	w := e.observe()
	if w.Canary.Paired != nil || w.Stable.Paired != nil {
		t.Errorf("Paired = %+v/%+v without mirroring, want nil", w.Stable.Paired, w.Canary.Paired)
	}
	// Turning mirroring on is a new split: its window starts again.
	e.dep.MirrorPercent = 10
	e.clock.Advance(time.Minute)
	e.mustStartCanary("2", 50)
	if w := e.observe(); w.Canary.Paired == nil || w.Stable.Requests+w.Canary.Requests != 0 || !w.Start.Equal(e.clock.Now()) {
		t.Errorf("after turning mirroring on: %+v", w)
	}
	e.dep.MirrorPercent = 101
	wantCode(t, e.dep.StartCanary(t.Context(), deployment("2"), 50), modelgate.EINVALID, "mirror percent must be between 0 and 100, not 101")
}

// An external canary is mirrored over HTTP the same way.
func TestMirror_Upstream(t *testing.T) {
	var mu sync.Mutex
	calls := 0
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			_, _ = w.Write([]byte(`{"name":"m","ready":true}`))
			return
		}
		var req struct{ Instances [][]float64 }
		_ = json.NewDecoder(r.Body).Decode(&req)
		preds := make([]float64, len(req.Instances))
		for i, in := range req.Instances {
			preds[i] = 2*in[0] - in[1]
		}
		mu.Lock()
		calls++
		mu.Unlock()
		_ = json.NewEncoder(w).Encode(map[string]any{"predictions": preds})
	}))
	defer up.Close()
	var e *testEnv
	e = newTestEnv(t, func(o *gateway.Options) {
		o.DeploymentLoader = func(d modelgate.Deployment) (gateway.Model, error) {
			if d.Version == "2" {
				return gateway.StartUpstream(t.Context(), gateway.UpstreamSpec{URL: up.URL, Protocol: "v1", Name: "m"}, d)
			}
			return e.load(d.ModelDir)
		}
	})
	e.register("1", 1)
	e.mustSetStable("1")
	e.dep.MirrorPercent = 100
	e.mustStartCanary("2", 1)
	toStable := keyFor(t, false, 1)
	for range 10 {
		if r := e.call(http.MethodPost, "/v1/models/iris:predict", `{"instances": [[5, 1], [7, 2]]}`, toStable); r.Status != 200 {
			t.Fatalf("stable request: %+v", r)
		}
		e.waitMirrors()
	}
	w := e.observe()
	mu.Lock()
	defer mu.Unlock()
	want := modelgate.Paired{Count: 20, SumDiff: 10 * 12, SumSqDiff: 10 * 74, SumStable: 10 * 9, SumAbsDiff: 10 * 12}
	if w.Canary.Paired == nil || *w.Canary.Paired != want || w.Canary.Requests != 0 || calls != 10 {
		t.Errorf("paired %+v, canary requests %d, upstream calls %d; want %+v, 0, 10", w.Canary.Paired, w.Canary.Requests, calls, want)
	}
}
