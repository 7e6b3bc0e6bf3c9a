package gateway

import (
	"math"
	"strconv"
	"sync"
	"time"

	"github.com/DataDog/sketches-go/ddsketch"

	"modelgate"
)

// sketchAccuracy is the relative accuracy of every DDSketch the gateway keeps.
const sketchAccuracy = 0.01

// dist accumulates one quantity: exact count, sum, sum of squares, min and
// max, and a DDSketch (which stores negative values too) for quantiles.
// Non-finite values are skipped. It is not safe for concurrent use.
type dist struct {
	sketch   *ddsketch.DDSketch
	count    int64
	sum      float64
	sumSq    float64
	min, max float64
}

func newDist() *dist {
	// NewDefaultDDSketch only fails for an accuracy outside (0, 1).
	sk, err := ddsketch.NewDefaultDDSketch(sketchAccuracy)
	if err != nil {
		panic(err)
	}
	return &dist{sketch: sk}
}

func (d *dist) add(v float64) {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return
	}
	if d.sketch.Add(v) != nil { // beyond the sketch's range (|v| > ~1e307)
		return
	}
	if d.count == 0 || v < d.min {
		d.min = v
	}
	if d.count == 0 || v > d.max {
		d.max = v
	}
	d.count++
	d.sum += v
	d.sumSq += v * v
}

// distribution returns the summary; Count == 0 and nothing else without data.
func (d *dist) distribution() modelgate.Distribution {
	if d.count == 0 {
		return modelgate.Distribution{}
	}
	q, err := d.sketch.GetValuesAtQuantiles([]float64{0.50, 0.95, 0.99})
	if err != nil {
		q = []float64{math.NaN(), math.NaN(), math.NaN()} // unreachable: the sketch is not empty
	}
	var enc []byte
	d.sketch.Encode(&enc, false)
	return modelgate.Distribution{
		Count: d.count, Sum: d.sum, SumSq: d.sumSq, Min: d.min, Max: d.max,
		P50: q[0], P95: q[1], P99: q[2], Sketch: enc,
	}
}

// revisionStats is what one production revision served since the traffic
// split was set. One mutex guards it all; a request takes it once.
type revisionStats struct {
	version string
	names   []string // feature names, in column order

	mu          sync.Mutex
	requests    int64
	errors      int64
	latency     *dist
	predictions *dist
	features    []*dist // parallel to names, grown for wider rows
}

func newRevisionStats(r *revision) *revisionStats {
	if r == nil {
		return nil
	}
	return &revisionStats{
		version:     r.dep.Version,
		names:       r.features,
		latency:     newDist(),
		predictions: newDist(),
	}
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
	s.latency.add(float64(o.latency) / float64(time.Millisecond))
	for _, p := range o.predictions {
		s.predictions.add(p)
	}
	for _, row := range o.rows {
		for len(s.features) < len(row) {
			s.features = append(s.features, newDist())
		}
		for j, v := range row {
			s.features[j].add(v)
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
		LatencyMS:   s.latency.distribution(),
		Predictions: s.predictions.distribution(),
	}
	for j, d := range s.features {
		if rs.Features == nil {
			rs.Features = make(map[string]modelgate.Distribution, len(s.features))
		}
		rs.Features[featureName(s.names, j)] = d.distribution()
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
