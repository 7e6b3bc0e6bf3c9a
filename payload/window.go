package payload

import (
	"context"
	"time"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/sketch"
)

// featureValue is one feature of one row.
type featureValue struct {
	name  string
	value float64
}

type limits struct{ features, versions int }

// window holds the per-version figures since start. It is guarded by the
// Receiver's mutex.
type window struct {
	start    time.Time
	stable   string // the split of the last Window call
	canary   string
	seen     bool // a Window call has set stable and canary
	versions map[string]*versionStats
}

// versionStats is what one version answered, as logged.
type versionStats struct {
	requests    int64
	predictions *sketch.Dist
	features    map[string]*sketch.Dist
}

// started returns the window's start, setting it to now the first time.
func (w *window) started(now func() time.Time) time.Time {
	if w.start.IsZero() {
		w.start = now()
	}
	return w.start
}

// add accumulates one paired request and returns the number of values left
// out over the limits.
func (w *window) add(version string, rows [][]featureValue, preds []float64, l limits) int64 {
	if w.versions == nil {
		w.versions = map[string]*versionStats{}
	}
	vs, ok := w.versions[version]
	if !ok {
		if len(w.versions) >= l.versions {
			return int64(len(preds)) + countValues(rows)
		}
		vs = &versionStats{predictions: sketch.New(), features: map[string]*sketch.Dist{}}
		w.versions[version] = vs
	}
	vs.requests++
	for _, p := range preds {
		vs.predictions.Add(p)
	}
	var dropped int64
	for _, row := range rows {
		for _, f := range row {
			d, ok := vs.features[f.name]
			if !ok {
				if len(vs.features) >= l.features {
					dropped++
					continue
				}
				d = sketch.New()
				vs.features[f.name] = d
			}
			d.Add(f.value)
		}
	}
	return dropped
}

func countValues(rows [][]featureValue) int64 {
	var n int64
	for _, r := range rows {
		n += int64(len(r))
	}
	return n
}

// snapshot returns version's figures; only Version is set without data.
func (w *window) snapshot(version string) modelgate.RevisionStats {
	rs := modelgate.RevisionStats{Version: version}
	vs, ok := w.versions[version]
	if !ok {
		return rs
	}
	rs.Requests = vs.requests
	rs.Predictions = vs.predictions.Distribution()
	for name, d := range vs.features {
		if rs.Features == nil {
			rs.Features = make(map[string]modelgate.Distribution, len(vs.features))
		}
		rs.Features[name] = d.Distribution()
	}
	return rs
}

// Window returns the logged figures of production's stable and canary
// versions (canary "" when there is none): Requests (logged successful
// requests), Predictions, Features and, with Actuals, Accuracy. Errors and
// LatencyMS stay empty: they come from metrics. When stable or canary
// differs from the previous call's, the split has changed and the figures
// restart (Reset) before answering. The first call keeps what arrived
// before it. A change of the canary's percent alone does not restart them:
// a version's predictions and features do not depend on its share.
func (r *Receiver) Window(stable, canary string) (s, c modelgate.RevisionStats) {
	r.mu.Lock()
	if r.window.seen && (r.window.stable != stable || r.window.canary != canary) {
		r.resetLocked()
	}
	r.window.stable, r.window.canary, r.window.seen = stable, canary, true
	s = r.window.snapshot(stable)
	if canary != "" {
		c = r.window.snapshot(canary)
	}
	start := r.window.started(r.now)
	r.mu.Unlock()
	if r.Actuals != nil {
		s.Accuracy = r.Actuals.Accuracy(r.Model, stable, start)
		if canary != "" {
			c.Accuracy = r.Actuals.Accuracy(r.Model, canary, start)
		}
	}
	return s, c
}

// Reset restarts the figures now: what was accumulated is dropped, and
// predictions recorded in Actuals from now on belong to the new window.
// Events waiting for their other half are kept and count in the new window.
func (r *Receiver) Reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.resetLocked()
}

func (r *Receiver) resetLocked() {
	r.window.versions = nil
	prev := r.window.start
	r.window.start = r.now()
	if !r.window.start.After(prev) { // a coarse or fake clock: windows stay distinct
		r.window.start = prev.Add(time.Nanosecond)
	}
}

// MetricsSource adds the figures of logged payloads to another source's
// window: the other source (Prometheus) measures requests, errors and
// latency; the Receiver gives predictions, features and accuracy for the
// same versions. Windows of models other than Receiver.Model pass through.
type MetricsSource struct {
	Metrics  modelgate.MetricsSource
	Receiver *Receiver
}

var _ modelgate.MetricsSource = MetricsSource{}

// Observe returns Metrics' window with the Receiver's figures merged in.
func (m MetricsSource) Observe(ctx context.Context, model string) (*modelgate.Window, error) {
	w, err := m.Metrics.Observe(ctx, model)
	if err != nil || m.Receiver == nil || model != m.Receiver.Model {
		return w, err
	}
	s, c := m.Receiver.Window(w.Stable.Version, w.Canary.Version)
	Merge(&w.Stable, s)
	Merge(&w.Canary, c)
	return w, nil
}

// Merge copies the payload figures (Predictions, Features, Accuracy) of
// from into into when both name the same version; into keeps its
// Requests, Errors and LatencyMS.
func Merge(into *modelgate.RevisionStats, from modelgate.RevisionStats) {
	if into.Version == "" || into.Version != from.Version {
		return
	}
	into.Predictions = from.Predictions
	into.Features = from.Features
	into.Accuracy = from.Accuracy
}
