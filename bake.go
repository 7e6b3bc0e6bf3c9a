package modelgate

import (
	"math"
	"time"
)

// SeriesPoint is the figures of one look, for charts over time. Values
// are of the period the look measured (the whole window so far for the
// canary window, the alert window for the bake).
type SeriesPoint struct {
	At time.Time `json:"at"`
	// Canary is empty in the bake: production alone is watched.
	Canary     PointFigures `json:"canary"`
	Production PointFigures `json:"production"`
}

// PointFigures is one revision's figures at a look.
type PointFigures struct {
	Requests  int64   `json:"requests"`
	ErrorRate float64 `json:"error_rate"`
	// ErrorLow and ErrorHigh are the error rate's 95% Wilson score
	// interval, the band drawn around it.
	ErrorLow  float64 `json:"error_low"`
	ErrorHigh float64 `json:"error_high"`
	P50MS     float64 `json:"p50_ms"`
	P95MS     float64 `json:"p95_ms"`
	P99MS     float64 `json:"p99_ms"`
	// PredictionMean is the mean prediction; Predictions is 0 when the
	// platform measures none.
	PredictionMean float64 `json:"prediction_mean"`
	Predictions    int64   `json:"predictions"`
	// Drift is each input's drift score against the training reference,
	// as a share of its alert level, where the judge measured it.
	Drift map[string]float64 `json:"drift,omitempty"`
}

// Figures returns s's figures for a series point.
func (s RevisionStats) Figures() PointFigures {
	lo, hi := wilson(s.Errors, s.Requests)
	return PointFigures{Requests: s.Requests, ErrorRate: s.ErrorRate(), ErrorLow: lo, ErrorHigh: hi,
		P50MS: s.LatencyMS.P50, P95MS: s.LatencyMS.P95, P99MS: s.LatencyMS.P99,
		PredictionMean: s.Predictions.Mean(), Predictions: s.Predictions.Count}
}

// wilson is the 95% Wilson score interval of k successes in n trials (a
// display band: it holds at small n and near 0, where the normal
// approximation does not).
func wilson(k, n int64) (float64, float64) {
	if n == 0 {
		return 0, 0
	}
	const z = 1.959964
	p, fn := float64(k)/float64(n), float64(n)
	d := 1 + z*z/fn
	c := (p + z*z/(2*fn)) / d
	h := z * math.Sqrt(p*(1-p)/fn+z*z/(4*fn*fn)) / d
	return math.Max(c-h, 0), math.Min(c+h, 1)
}

// AlertAction is what the bake does when an alert fires.
type AlertAction string

const (
	AlertRollback AlertAction = "rollback" // roll production back to the previous version
	AlertNotify   AlertAction = "notify"   // tell people, keep watching
)

// Alert is one alert rule's state at a look of the bake.
type Alert struct {
	Name string `json:"name"` // e.g. AlertErrorRate ("ModelErrorRateHigh")
	// Firing is true when the rule's condition held for the rule's whole
	// pending period; Pending when it holds but not yet for long enough.
	Firing  bool `json:"firing,omitempty"`
	Pending bool `json:"pending,omitempty"`
	// Value is the measured figure, Threshold the rule's limit.
	Value     float64     `json:"value"`
	Threshold float64     `json:"threshold"`
	Action    AlertAction `json:"action"`
	// Summary says in plain words what the rule sees.
	Summary string `json:"summary"`
}

// BakeLook is what one look of the bake measured.
type BakeLook struct {
	At time.Time
	// Recent is production since the previous look; Total since the
	// rollout (drift is judged on it: short periods are too noisy).
	Recent, Total RevisionStats
	// Baseline is the previous version's baseline, nil without one.
	Baseline *RevisionStats
	// Reference is the version's training reference, nil without one.
	Reference *Profile
}

// AlertRules judge the bake's looks: every rule's state at look l, and
// since when each rule's condition holds (pending, carried from look to
// look and persisted, so a restart neither loses nor restarts a pending
// alert). Implementations: judge.BakeRules.
type AlertRules interface {
	Evaluate(l BakeLook, pending map[string]time.Time) ([]Alert, map[string]time.Time)
}

// AlertEvent is an alert that fired during the bake and what was done.
type AlertEvent struct {
	At     time.Time   `json:"at"`
	Alert  string      `json:"alert"`
	Action AlertAction `json:"action"`
	// Summary is the alert's summary when it fired.
	Summary string `json:"summary"`
}

// BakeEvidence is playbook step 8's watch: the new production version
// watched against the alert rules and the previous version's baseline
// until Until.
type BakeEvidence struct {
	Started time.Time `json:"started"`
	Until   time.Time `json:"until"`
	Looks   int       `json:"looks"`
	// Total is production's figures since the rollout at the last look;
	// the next look measures what came after it. Baseline is the previous
	// version's baseline the rules compare with (nil when it has none).
	Total    *RevisionStats `json:"total,omitempty"`
	Baseline *RevisionStats `json:"baseline,omitempty"`
	// Alerts is every rule's state at the last look; Pending since when
	// each rule's condition has held.
	Alerts  []Alert              `json:"alerts,omitempty"`
	Pending map[string]time.Time `json:"pending,omitempty"`
	Fired   []AlertEvent         `json:"fired,omitempty"`
	Series  []SeriesPoint        `json:"series,omitempty"`
	// Ended is a person's early end of the bake (by hand, or by starting
	// a promotion of another version); Extensions their extensions.
	Ended      *Override   `json:"ended,omitempty"`
	Extensions []Extension `json:"extensions,omitempty"`
	// MetricFailures counts looks in a row whose figures could not be
	// read; Error is the last failure.
	MetricFailures int    `json:"metric_failures,omitempty"`
	Error          string `json:"error,omitempty"`
}

// Extension is a person's extension of a bake.
type Extension struct {
	Override
	Duration time.Duration `json:"duration"`
}

// Firing returns the alerts firing at the last look.
func (b BakeEvidence) Firing() []Alert {
	var out []Alert
	for _, a := range b.Alerts {
		if a.Firing {
			out = append(out, a)
		}
	}
	return out
}
