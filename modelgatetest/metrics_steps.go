package modelgatetest

import (
	"time"

	"github.com/modelgate/modelgate"
)

// Traffic the subtests send: arms that differ in every figure, so swapped
// revisions or units show.
var (
	stableArm = Arm{OK: 20, Errors: 2, Latency: 20 * time.Millisecond, Prediction: 10}
	canaryArm = Arm{OK: 8, Errors: 3, Latency: 200 * time.Millisecond, Prediction: 40}
)

// A model production does not serve, or not yet, has no window.
func testModelNotServed(r *metricsRun) {
	r.wantNotFound("a model production never served", uniqueName("unserved"))
	r.wantNotFound("the model before its first split", r.s.Model)
}

func testStableOnly(r *metricsRun) {
	r.setSplit(modelgate.TrafficSplit{Stable: "1"})
	r.send(Traffic{Stable: stableArm})
	w := r.observe()
	r.wantArm("stable", w.Stable, "1", stableArm)
	r.wantNoCanary(w)
}

// Both revisions are measured apart, and observing does not consume what
// was measured.
func testStableAndCanary(r *metricsRun) {
	r.setSplit(modelgate.TrafficSplit{Stable: "1", Canary: "2", CanaryPercent: 10})
	r.send(Traffic{Stable: stableArm, Canary: canaryArm})
	w := r.observe()
	r.wantArm("stable", w.Stable, "1", stableArm)
	r.wantArm("canary", w.Canary, "2", canaryArm)
	again := r.observe()
	r.wantArm("stable observed again", again.Stable, "1", stableArm)
	r.wantArm("canary observed again", again.Canary, "2", canaryArm)
}

// A revision that served nothing is there, with every figure missing.
func testNoTrafficIsMissing(r *metricsRun) {
	r.setSplit(modelgate.TrafficSplit{Stable: "1", Canary: "2", CanaryPercent: 10})
	r.wait()
	w := r.observe()
	r.wantArm("stable without traffic", w.Stable, "1", Arm{})
	r.wantArm("canary without traffic", w.Canary, "2", Arm{})
}

// Every change of the split starts a new window: a canary, then its
// promotion.
func testWindowRestarts(r *metricsRun) {
	r.setSplit(modelgate.TrafficSplit{Stable: "1"})
	r.send(Traffic{Stable: stableArm})
	first := r.observe()

	r.setSplit(modelgate.TrafficSplit{Stable: "1", Canary: "2", CanaryPercent: 10})
	stable := Arm{OK: 5, Latency: 10 * time.Millisecond, Prediction: 11}
	r.send(Traffic{Stable: stable, Canary: canaryArm})
	canary := r.observe()
	r.wantArm("stable after the canary started", canary.Stable, "1", stable)
	r.wantArm("canary", canary.Canary, "2", canaryArm)
	if !canary.Start.After(first.Start) {
		r.t.Errorf("the canary's window starts at %v, not after the previous one's %v", canary.Start, first.Start)
	}

	r.setSplit(modelgate.TrafficSplit{Stable: "2"})
	promoted := Arm{OK: 4, Errors: 1, Latency: 50 * time.Millisecond, Prediction: 12}
	r.send(Traffic{Stable: promoted})
	w := r.observe()
	r.wantArm("stable after the promotion", w.Stable, "2", promoted)
	r.wantNoCanary(w)
	if !w.Start.After(canary.Start) {
		r.t.Errorf("the promotion's window starts at %v, not after the canary's %v", w.Start, canary.Start)
	}
}

func testObserveCancelled(r *metricsRun) {
	r.setSplit(modelgate.TrafficSplit{Stable: "1"})
	_, err := r.s.Source.Observe(cancelled(r.t.Context()), r.s.Model)
	wantCancelled(r.t, "Observe", err)
}
