package modelgatetest

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/modelgate/modelgate"
)

// MetricsSubject is a metrics source under test and the production it
// measures. The suite cannot serve traffic itself, so the subject does:
// through the platform's data plane, an exporter a real Prometheus scrapes,
// or the payload logger's events.
type MetricsSubject struct {
	Source modelgate.MetricsSource
	// Model is the model Source measures; production serves none of it
	// before the first SetSplit.
	Model string
	// SetSplit makes production serve split (Stable at 100−CanaryPercent,
	// Canary at CanaryPercent when not "") and returns once it serves it and
	// Source's window for it has begun.
	SetSplit func(t *testing.T, split modelgate.TrafficSplit)
	// Send serves exactly tr on the current split.
	Send func(t *testing.T, tr Traffic)
	// Wait returns once Source counts everything sent (a scraping source
	// waits for a scrape). Nil when Source counts at once.
	Wait func(t *testing.T)
	// Predictions says Source measures predictions (the gateway, payload);
	// a source without them (Prometheus) must report them missing.
	Predictions bool
	// SplitNoticedOnObserve says Source restarts its window only when an
	// Observe first shows the new split, not when the split was set
	// (payload's Receiver, which keeps its figures by version): what was
	// served between a change and that Observe is lost. The suite then
	// observes right after every SetSplit. False for every source that
	// knows when the split was set.
	SplitNoticedOnObserve bool
}

// Traffic is what each revision of production serves.
type Traffic struct {
	Stable, Canary Arm
}

// Arm is the requests one revision serves.
type Arm struct {
	OK         int           // requests answered 200, one prediction each
	Errors     int           // requests answered with a 5xx
	Latency    time.Duration // how long every request takes, failed ones too
	Prediction float64       // every OK request's prediction
}

// TestMetricsSource runs the metrics source conformance suite: Observe
// returns the stable and canary figures since the split was set, missing
// data is Count 0 (never zeros that look like figures), a model production
// does not serve is ENOTFOUND. open is called once per subtest.
func TestMetricsSource(t *testing.T, open func(t *testing.T) MetricsSubject) {
	tests := []struct {
		name string
		fn   func(r *metricsRun)
	}{
		{"ModelNotServed", testModelNotServed},
		{"StableOnly", testStableOnly},
		{"StableAndCanary", testStableAndCanary},
		{"NoTrafficIsMissing", testNoTrafficIsMissing},
		{"WindowRestartsWithTheSplit", testWindowRestarts},
		{"CancelledContext", testObserveCancelled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(&metricsRun{t: t, s: open(t)}) })
	}
}

// metricsRun is one subtest's subject.
type metricsRun struct {
	t *testing.T
	s MetricsSubject
}

func (r *metricsRun) setSplit(split modelgate.TrafficSplit) {
	r.t.Helper()
	r.s.SetSplit(r.t, split)
	if r.s.SplitNoticedOnObserve {
		r.observe()
	}
}

func (r *metricsRun) send(tr Traffic) {
	r.t.Helper()
	r.s.Send(r.t, tr)
	r.wait()
}

func (r *metricsRun) wait() {
	r.t.Helper()
	if r.s.Wait != nil {
		r.s.Wait(r.t)
	}
}

// observe returns the current window after checking what every window must
// hold: the model, and an interval that starts and does not end before it.
func (r *metricsRun) observe() *modelgate.Window {
	r.t.Helper()
	w, err := r.s.Source.Observe(r.t.Context(), r.s.Model)
	if err != nil {
		r.t.Fatalf("Observe(%s): %v", r.s.Model, err)
	}
	if w.Model != r.s.Model || w.Start.IsZero() || w.End.Before(w.Start) {
		r.t.Errorf("window of model %q from %v to %v; want model %q and an interval", w.Model, w.Start, w.End, r.s.Model)
	}
	return w
}

// wantArm checks what version served: requests, errors, latency and, where
// the source has them, predictions.
func (r *metricsRun) wantArm(what string, got modelgate.RevisionStats, version string, a Arm) {
	r.t.Helper()
	requests := int64(a.OK + a.Errors)
	if got.Version != version || got.Requests != requests || got.Errors != int64(a.Errors) {
		r.t.Errorf("%s: version %q, %d requests, %d errors; want %q, %d, %d",
			what, got.Version, got.Requests, got.Errors, version, requests, a.Errors)
	}
	r.wantDist(what+" latency (ms)", got.LatencyMS, requests, float64(a.Latency)/float64(time.Millisecond))
	switch {
	case !r.s.Predictions:
		r.wantDist(what+" predictions (not measured)", got.Predictions, 0, 0)
	case r.wantDist(what+" predictions", got.Predictions, int64(a.OK), a.Prediction):
		if mean := got.Predictions.Mean(); math.Abs(mean-a.Prediction) > 1e-9*math.Abs(a.Prediction) {
			r.t.Errorf("%s predictions: mean %v, want %v", what, mean, a.Prediction)
		}
	}
}

// wantDist checks d holds count values all near typical: quantiles within
// a factor of two (a histogram's buckets allow no better) and in order.
// Without values d must be missing, the zero Distribution. It reports
// whether d holds the values wanted, for further checks.
func (r *metricsRun) wantDist(what string, d modelgate.Distribution, count int64, typical float64) bool {
	r.t.Helper()
	if count == 0 {
		if diff := cmp.Diff(modelgate.Distribution{}, d); diff != "" {
			r.t.Errorf("%s: want missing (Count 0, nothing else), got (-want +got):\n%s", what, diff)
		}
		return false
	}
	if d.Count != count {
		r.t.Errorf("%s: Count %d, want %d", what, d.Count, count)
		return false
	}
	lo, hi := min(typical/2, typical*2), max(typical/2, typical*2)
	if !(d.P50 >= lo && d.P50 <= hi) || !(d.P50 <= d.P95 && d.P95 <= d.P99) {
		r.t.Errorf("%s: p50 %v, p95 %v, p99 %v; want p50 within [%v, %v] and p50 ≤ p95 ≤ p99", what, d.P50, d.P95, d.P99, lo, hi)
	}
	return true
}

func (r *metricsRun) wantNoCanary(w *modelgate.Window) {
	r.t.Helper()
	if diff := cmp.Diff(modelgate.RevisionStats{}, w.Canary); diff != "" {
		r.t.Errorf("canary without a canary (-want +got):\n%s", diff)
	}
}

// wantNotFound checks Observe of model fails with ENOTFOUND.
func (r *metricsRun) wantNotFound(what, model string) {
	r.t.Helper()
	w, err := r.s.Source.Observe(r.t.Context(), model)
	if code := modelgate.ErrorCode(err); code != modelgate.ENOTFOUND {
		r.t.Errorf("Observe of %s: window %+v, error %v (%q); want %s", what, w, err, code, modelgate.ENOTFOUND)
	}
}

// cancelled returns a context that has ended.
func cancelled(ctx context.Context) context.Context {
	ctx, cancel := context.WithCancel(ctx)
	cancel()
	return ctx
}

// wantCancelled checks err is ctx's cancellation.
func wantCancelled(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, context.Canceled) {
		t.Errorf("%s with a cancelled context: %v, want context.Canceled", what, err)
	}
}
