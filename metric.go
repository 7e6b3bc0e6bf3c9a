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
	// Counts holds the occurrences of each value of a categorical quantity
	// (a categorical feature, a class label). Optional; judges compare
	// categorical quantities by these counts instead of the sketch.
	Counts map[string]int64 `json:"counts,omitempty"`
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
	// Accuracy is the revision's accuracy on the requests whose actual
	// outcome has arrived (joined by request id). Nil when no actuals are
	// collected.
	Accuracy *Accuracy `json:"accuracy,omitempty"`
	// Paired holds the canary's predictions on production's own requests,
	// mirrored to it, next to production's answers. Nil when the platform
	// does not mirror.
	Paired *Paired `json:"paired,omitempty"`
}

// Accuracy summarises absolute errors |prediction − actual| over the
// predictions whose actuals are known. Missing data is Count == 0.
type Accuracy struct {
	Count        int64   `json:"count"`          // predictions with an actual
	SumAbsError  float64 `json:"sum_abs_error"`  // Σ|prediction − actual|
	SumSqAbsErr  float64 `json:"sum_sq_abs_err"` // Σ(prediction − actual)²
	SumAbsActual float64 `json:"sum_abs_actual"` // Σ|actual|
}

// Add records one prediction and its actual.
func (a *Accuracy) Add(prediction, actual float64) {
	e := prediction - actual
	if e < 0 {
		e = -e
	}
	a.Count++
	a.SumAbsError += e
	a.SumSqAbsErr += e * e
	if actual < 0 {
		actual = -actual
	}
	a.SumAbsActual += actual
}

// MAE is the mean absolute error, or 0 without data.
func (a Accuracy) MAE() float64 {
	if a.Count == 0 {
		return 0
	}
	return a.SumAbsError / float64(a.Count)
}

// WAPE is the weighted absolute percentage error Σ|e|/Σ|actual|, or 0
// without data.
func (a Accuracy) WAPE() float64 {
	if a.SumAbsActual == 0 {
		return 0
	}
	return a.SumAbsError / a.SumAbsActual
}

// Profile is the training reference a version's live inputs and outputs are
// compared with: per-feature distributions (with sketches, or category
// counts for categorical features) and the distribution of predictions on
// the reference sample. It is computed once, at registration, from a
// reference sample, and stored with the version.
type Profile struct {
	Rows        int64                   `json:"rows"` // rows in the reference sample
	Features    map[string]Distribution `json:"features"`
	Predictions Distribution            `json:"predictions"`
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
	// Reference is the canary version's training reference profile, for
	// judges that check feature drift. Nil when the version has none.
	Reference *Profile `json:"reference,omitempty"`
	// Expected is what staging showed of the candidate's predictions
	// against production's on the same inputs. Nil when staging measured
	// nothing.
	Expected *Expectation `json:"expected,omitempty"`
}

// MetricsSource measures production's revisions. Implementations: gateway
// (measured in-process), prometheus.
type MetricsSource interface {
	// Observe returns stable and canary figures since the current traffic
	// split was set.
	Observe(ctx context.Context, model string) (*Window, error)
}

// RangeObserver is a MetricsSource that keeps history (Prometheus) and
// can measure production between any two instants. The bake asks it for
// the period since its previous look; without it, the bake subtracts two
// readings of the totals (which needs their sketches).
type RangeObserver interface {
	ObserveRange(ctx context.Context, model string, start, end time.Time) (*Window, error)
}

// ReferenceProfileFile is the file in a model directory holding the JSON of
// its training reference Profile, written at registration from a reference
// sample, so the profile travels with the artifact and its digest.
const ReferenceProfileFile = "reference_profile.json"
