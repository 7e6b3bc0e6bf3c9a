package gateway

import (
	"strconv"
	"sync"
	"time"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/sketch"
)

// revisionStats is what one production revision served since the traffic
// split was set. One mutex guards it all; a request takes it once.
type revisionStats struct {
	version string
	names   []string // feature names, in column order

	mu          sync.Mutex
	requests    int64
	errors      int64
	latency     *sketch.Dist
	predictions *sketch.Dist
	features    []*sketch.Dist // parallel to names, grown for wider rows

	// paired and mirror are the canary's mirrored requests: its answers
	// next to production's. paired is nil when the split mirrors nothing.
	paired *modelgate.Paired
	mirror mirrorCounts
}

// mirrorCounts counts the mirrors of one split.
type mirrorCounts struct {
	inFlight, dropped, failed int64
}

// newRevisionStats returns empty figures for r (nil for no revision);
// pairs makes room for mirrored pairs.
func newRevisionStats(r *revision, pairs bool) *revisionStats {
	if r == nil {
		return nil
	}
	s := &revisionStats{
		version:     r.dep.Version,
		names:       r.features,
		latency:     sketch.New(),
		predictions: sketch.New(),
	}
	if pairs {
		s.paired = &modelgate.Paired{}
	}
	return s
}

// observation is one answered prediction request.
type observation struct {
	status      int
	latency     time.Duration
	rows        [][]float64 // nil when the request failed before features
	predictions []float64
}

func (s *revisionStats) record(o observation) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests++
	if o.status >= 500 {
		s.errors++
	}
	s.latency.Add(float64(o.latency) / float64(time.Millisecond))
	for _, p := range o.predictions {
		s.predictions.Add(p)
	}
	for _, row := range o.rows {
		for len(s.features) < len(row) {
			s.features = append(s.features, sketch.New())
		}
		for j, v := range row {
			s.features[j].Add(v)
		}
	}
}

// snapshot returns the figures so far.
func (s *revisionStats) snapshot() modelgate.RevisionStats {
	if s == nil {
		return modelgate.RevisionStats{}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rs := modelgate.RevisionStats{
		Version:     s.version,
		Requests:    s.requests,
		Errors:      s.errors,
		LatencyMS:   s.latency.Distribution(),
		Predictions: s.predictions.Distribution(),
	}
	if s.paired != nil {
		p := *s.paired
		rs.Paired = &p
	}
	for j, d := range s.features {
		if rs.Features == nil {
			rs.Features = make(map[string]modelgate.Distribution, len(s.features))
		}
		rs.Features[featureName(s.names, j)] = d.Distribution()
	}
	return rs
}

// featureName names column j; columns beyond FeatureNames get "feature_<j>".
func featureName(names []string, j int) string {
	if j < len(names) {
		return names[j]
	}
	return "feature_" + strconv.Itoa(j)
}
