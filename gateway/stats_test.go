package gateway_test

import (
	"math"
	"net/http"
	"sort"
	"testing"
	"time"

	"github.com/DataDog/sketches-go/ddsketch"
	"github.com/DataDog/sketches-go/ddsketch/store"
	"github.com/google/go-cmp/cmp"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/gateway"
)

// routed returns an Options edit whose random source sends a request to the
// canary exactly when *toCanary is true.
func routed(toCanary *bool) func(*gateway.Options) {
	return func(o *gateway.Options) {
		o.Rand = func() float64 {
			if *toCanary {
				return 0
			}
			return 0.999
		}
	}
}

// within reports whether got is the value at rank q*(n-1) of sorted (the
// rank DDSketch uses, between two neighbours when fractional) within the
// sketch's 1% relative accuracy.
func within(sorted []float64, q, got float64) bool {
	rank := q * float64(len(sorted)-1)
	lo, hi := sorted[int(math.Floor(rank))], sorted[int(math.Ceil(rank))]
	return got >= lo-0.011*math.Abs(lo) && got <= hi+0.011*math.Abs(hi)
}

func checkQuantiles(t *testing.T, what string, d modelgate.Distribution, values []float64) {
	t.Helper()
	sorted := append([]float64(nil), values...)
	sort.Float64s(sorted)
	for _, q := range []struct {
		name   string
		q, got float64
	}{{"p50", 0.50, d.P50}, {"p95", 0.95, d.P95}, {"p99", 0.99, d.P99}} {
		if !within(sorted, q.q, q.got) {
			t.Errorf("%s %s = %v, want the value at rank %v of the data ± 1%%", what, q.name, q.got, q.q)
		}
	}
	if d.Min != sorted[0] || d.Max != sorted[len(sorted)-1] {
		t.Errorf("%s min/max = %v/%v, want %v/%v", what, d.Min, d.Max, sorted[0], sorted[len(sorted)-1])
	}
}

func TestMeasurements(t *testing.T) {
	var toCanary bool
	e := newTestEnv(t, routed(&toCanary))
	stable := e.register("1", 1)
	stable.Latency = func(int) time.Duration { return 10 * time.Millisecond }
	stable.PredictFn = func(rows [][]float64) ([]float64, error) {
		if rows[0][0] < 0 {
			return nil, errString("boom")
		}
		return []float64{rows[0][0] - rows[0][1], rows[1][0] - rows[1][1]}, nil
	}
	canary := e.register("2", 1)
	canary.Latency = func(call int) time.Duration { return time.Duration(call%100+1) * time.Millisecond }
	e.mustSetStable("1")
	e.mustStartCanary("2", 50)

	// Stable: 100 requests of two rows (x = i, y = 50), one failure, one bad request.
	var stablePreds, stableX []float64
	for i := range 100 {
		x := float64(i)
		body := map[string]any{"instances": []any{[]any{x, 50}, []any{x, 50}}}
		if r := e.call(http.MethodPost, "/v1/models/iris:predict", body, nil); r.Status != 200 {
			t.Fatalf("stable request: %+v", r)
		}
		stablePreds = append(stablePreds, x-50, x-50)
		stableX = append(stableX, x, x)
	}
	e.call(http.MethodPost, "/v1/models/iris:predict", `{"instances": [[-1, 1], [-1, 1]]}`, nil)
	e.call(http.MethodPost, "/v1/models/iris:predict", `{"instances": [[1]]}`, nil)

	// Canary: 200 requests of one row, latencies 1..100 ms twice.
	toCanary = true
	var canaryLatency []float64
	for i := range 200 {
		if r := e.call(http.MethodPost, "/v1/models/iris:predict", `{"instances": [[3, 1]]}`, nil); r.Status != 200 {
			t.Fatalf("canary request: %+v", r)
		}
		canaryLatency = append(canaryLatency, float64(i%100+1))
	}

	w, err := e.metrics.Observe(t.Context(), "iris")
	if err != nil {
		t.Fatal(err)
	}
	s, c := w.Stable, w.Canary
	counts := [][2]int64{{s.Requests, 102}, {s.Errors, 1}, {s.LatencyMS.Count, 102}, {s.Predictions.Count, 200},
		{s.Features["x"].Count, 200}, {s.Features["y"].Count, 200},
		{c.Requests, 200}, {c.Errors, 0}, {c.Predictions.Count, 200}, {c.Features["x"].Count, 200}}
	for i, cn := range counts {
		if cn[0] != cn[1] {
			t.Errorf("count %d = %d, want %d", i, cn[0], cn[1])
		}
	}
	if s.Version != "1" || c.Version != "2" {
		t.Errorf("versions %q/%q, want 1/2", s.Version, c.Version)
	}
	// Every stable request took 10 ms, the failure too; the bad request none.
	if s.LatencyMS.P50 < 9.8 || s.LatencyMS.P50 > 10.2 || s.LatencyMS.Max != 10 || s.LatencyMS.Min != 0 {
		t.Errorf("stable latency %+v", s.LatencyMS)
	}
	checkQuantiles(t, "canary latency", c.LatencyMS, canaryLatency)
	checkQuantiles(t, "stable predictions", s.Predictions, stablePreds)
	checkQuantiles(t, "stable feature x", s.Features["x"], stableX)
	if got, want := s.Predictions.Sum, -100.0*2*50+2*4950.0; got != want {
		t.Errorf("stable prediction sum = %v, want %v", got, want)
	}
	if d := s.Features["y"]; d.Sum != 200*50 || d.SumSq != 200*2500 || d.Mean() != 50 {
		t.Errorf("feature y = %+v, want sum 10000, sum_sq 500000", d)
	}
	if c.Predictions.Min != 2 || c.Predictions.Max != 2 || c.Predictions.P50 < 1.98 || c.Predictions.P50 > 2.02 {
		t.Errorf("canary predictions %+v", c.Predictions)
	}
	checkSketch(t, c.LatencyMS)
	checkSketch(t, s.Predictions)
}

// checkSketch decodes d.Sketch and compares it with d's figures.
func checkSketch(t *testing.T, d modelgate.Distribution) {
	t.Helper()
	sk, err := ddsketch.DecodeDDSketch(d.Sketch, store.BufferedPaginatedStoreConstructor, nil)
	if err != nil {
		t.Fatalf("decode sketch: %v", err)
	}
	if got := sk.GetCount(); got != float64(d.Count) {
		t.Errorf("sketch count = %v, want %d", got, d.Count)
	}
	p95, err := sk.GetValueAtQuantile(0.95)
	if err != nil || p95 != d.P95 {
		t.Errorf("sketch p95 = %v (%v), want %v", p95, err, d.P95)
	}
}

func TestMeasurements_ResetOnSplitChange(t *testing.T) {
	e := newTestEnv(t, seeded(3))
	e.register("1", 1)
	e.register("2", 2)
	e.mustSetStable("1")
	e.mustStartCanary("2", 10)
	start := e.clock.Now()
	e.versions(50, nil)
	e.clock.Advance(time.Minute)

	observe := func() *modelgate.Window {
		t.Helper()
		w, err := e.metrics.Observe(t.Context(), "iris")
		if err != nil {
			t.Fatal(err)
		}
		return w
	}
	// Repeating the call changes nothing, so the window keeps running.
	e.mustStartCanary("2", 10)
	w := observe()
	if got := w.Stable.Requests + w.Canary.Requests; got != 50 || !w.Start.Equal(start) {
		t.Fatalf("after a repeated StartCanary: %d requests since %v, want 50 since %v", got, w.Start, start)
	}
	if !w.End.Equal(start.Add(time.Minute)) {
		t.Errorf("End = %v, want now", w.End)
	}

	e.mustStartCanary("2", 25)
	w = observe()
	want := modelgate.Window{Model: "iris", Start: e.clock.Now(), End: e.clock.Now(),
		Stable: modelgate.RevisionStats{Version: "1"}, Canary: modelgate.RevisionStats{Version: "2"}}
	if diff := cmp.Diff(&want, w); diff != "" {
		t.Errorf("after a split change (-want +got):\n%s", diff)
	}

	if err := e.dep.Promote(t.Context(), "iris", "2"); err != nil {
		t.Fatal(err)
	}
	e.versions(5, nil)
	w = observe()
	if w.Stable.Version != "2" || w.Stable.Requests != 5 || w.Canary.Version != "" || w.Canary.Requests != 0 {
		t.Errorf("after promotion: stable %+v canary %+v", w.Stable, w.Canary)
	}
}
