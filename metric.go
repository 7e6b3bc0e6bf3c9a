package modelgate

import (
	"context"
	"time"
)

// Distribution summarises observed values of one quantity. Missing data is
// Count == 0, never zeros that look like figures.
type Distribution struct {
	Count int64   `json:"count"`
	Sum   float64 `json:"sum"`
	SumSq float64 `json:"sum_sq"`
	Min   float64 `json:"min"`
	Max   float64 `json:"max"`
	P50   float64 `json:"p50"`
	P95   float64 `json:"p95"`
	P99   float64 `json:"p99"`
	// Sketch is a mergeable quantile sketch of the values (DDSketch binary
	// encoding, 1% relative accuracy), for judges that need more than the
	// three quantiles. Optional.
	Sketch []byte `json:"sketch,omitempty"`
}

// Mean returns the arithmetic mean, or 0 when there is no data.
func (d Distribution) Mean() float64 {
	if d.Count == 0 {
		return 0
	}
	return d.Sum / float64(d.Count)
}

// RevisionStats is what one revision served during a window.
type RevisionStats struct {
	Version     string                  `json:"version"`
	Requests    int64                   `json:"requests"` // prediction requests answered or failed
	Errors      int64                   `json:"errors"`   // requests answered with a 5xx
	LatencyMS   Distribution            `json:"latency_ms"`
	Predictions Distribution            `json:"predictions"`
	Features    map[string]Distribution `json:"features,omitempty"`
}

// ErrorRate returns Errors/Requests, or 0 without requests.
func (s RevisionStats) ErrorRate() float64 {
	if s.Requests == 0 {
		return 0
	}
	return float64(s.Errors) / float64(s.Requests)
}

// Window holds canary and stable figures measured over the same interval.
type Window struct {
	Model  string        `json:"model"`
	Start  time.Time     `json:"start"`
	End    time.Time     `json:"end"`
	Stable RevisionStats `json:"stable"`
	Canary RevisionStats `json:"canary"`
}

// MetricsSource measures production's revisions. Implementations: gateway
// (measured in-process), prometheus.
type MetricsSource interface {
	// Observe returns stable and canary figures since the current traffic
	// split was set.
	Observe(ctx context.Context, model string) (*Window, error)
}
