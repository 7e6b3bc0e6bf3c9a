package judge

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/modelgate/modelgate"
)

// Thresholds compares canary and production against the playbook's fixed
// margins. Its zero value is not useful; start from DefaultThresholds.
type Thresholds struct {
	// ErrorRateMargin is how far, in absolute rate, the canary's error rate
	// may exceed production's. Playbook: 0.005 (0.5 percentage points).
	ErrorRateMargin float64
	// LatencyP95Margin is how much slower the canary's p95 may be.
	// Playbook: 50ms.
	LatencyP95Margin time.Duration
	// RelativeTolerance bounds every other compared figure (latency p50 and
	// p99, the mean prediction). Playbook: 0.05 (within 5%).
	RelativeTolerance float64
	// LatencyFloor is the smallest latency difference that counts as a
	// regression for the relative checks: 5% of a sub-millisecond latency is
	// noise, not a regression. Default 10ms; 0 disables the floor.
	LatencyFloor time.Duration
	// MinRequests is the number of canary requests below which no check can
	// fail or pass (the answer is "continue", or "inconclusive" at the end).
	// Default 200.
	MinRequests int64
	// EarlyPromotion allows promoting before the window ends once every
	// check passes. Default false: the playbook watches the whole window.
	EarlyPromotion bool
}

var _ modelgate.Judge = Thresholds{}

// DefaultThresholds returns the playbook's numbers.
func DefaultThresholds() Thresholds {
	return Thresholds{
		ErrorRateMargin:   0.005,
		LatencyP95Margin:  50 * time.Millisecond,
		RelativeTolerance: 0.05,
		LatencyFloor:      10 * time.Millisecond,
		MinRequests:       200,
	}
}

// Judge implements modelgate.Judge.
func (t Thresholds) Judge(w *modelgate.Window, p modelgate.Progress) modelgate.Judgement {
	checks, notes := t.checks(w, p.Final)
	enough := w.Canary.Requests >= t.MinRequests && w.Stable.Requests >= t.MinRequests
	if !enough {
		v := modelgate.VerdictContinue
		if p.Final {
			v = modelgate.VerdictInconclusive
		}
		for i := range checks {
			checks[i].Verdict = v
		}
	}
	return modelgate.Judgement{Decision: decide(checks, p, t.EarlyPromotion), Checks: checks, Reasons: append(reasons(checks, w, t.MinRequests, enough), notes...)}
}

func (t Thresholds) checks(w *modelgate.Window, final bool) ([]modelgate.Check, []string) {
	c, s := w.Canary, w.Stable
	floor := float64(t.LatencyFloor) / float64(time.Millisecond)
	checks := []modelgate.Check{
		upper("error_rate", "", c.ErrorRate(), s.ErrorRate(), s.ErrorRate()+t.ErrorRateMargin),
		upper("latency_p95", "ms", c.LatencyMS.P95, s.LatencyMS.P95, s.LatencyMS.P95+float64(t.LatencyP95Margin)/float64(time.Millisecond)),
		upper("latency_p50", "ms", c.LatencyMS.P50, s.LatencyMS.P50, relLimit(s.LatencyMS.P50, t.RelativeTolerance, floor)),
		upper("latency_p99", "ms", c.LatencyMS.P99, s.LatencyMS.P99, relLimit(s.LatencyMS.P99, t.RelativeTolerance, floor)),
	}
	if c.Predictions.Count == 0 && s.Predictions.Count == 0 {
		// Metrics backends (Prometheus) carry no predictions: say so rather
		// than compare zero with zero.
		return checks, []string{"The mean prediction is not judged: the metrics source reports no predictions for either version."}
	}
	// Only the mean: a median of skewed forecasts is much noisier and says
	// little the mean does not.
	se := meanSE(c.Predictions, s.Predictions)
	scale := shiftScale(s.Predictions.Mean(), s.Predictions)
	return append(checks, within("prediction_mean", c.Predictions.Mean(), s.Predictions.Mean(), se, scale, t.RelativeTolerance, final)), nil
}

// upper passes when canary ≤ limit.
func upper(name, unit string, canary, prod, limit float64) modelgate.Check {
	u := unit
	if u == "" {
		u = "rate"
	}
	c := modelgate.Check{Name: name, Unit: u, Canary: canary, Production: prod, Limit: limit, Verdict: modelgate.VerdictPass}
	c.Detail = fmt.Sprintf("canary %s vs production %s (limit %s)", num(canary, unit), num(prod, unit), num(limit, unit))
	word := "within"
	if canary > limit {
		c.Verdict, word = modelgate.VerdictFail, "beyond"
	}
	c.Summary = fmt.Sprintf("The canary's %s is %s against production's %s, %s the limit %s.", strings.ReplaceAll(name, "_", " "), num(canary, unit), num(prod, unit), word, num(limit, unit))
	return c
}

// within compares a canary figure with production's, allowing a
// difference of tol·scale either way, where scale is production's figure's
// size, or production's spread when the figure is near zero (shiftScale). The two arms see different requests, so the
// difference carries sampling noise (standard error se): during the window a
// check fails only when the whole z·se interval lies outside the band; at the
// end the point estimate decides, unless the interval still straddles the
// band's edge from outside, which is inconclusive.
func within(name string, canary, prod, se, scale, tol float64, final bool) modelgate.Check {
	band := scale * tol
	diff := canary - prod
	c := modelgate.Check{Name: name, Canary: canary, Production: prod, Limit: band, Low: diff - zWithin*se, High: diff + zWithin*se, Verdict: modelgate.VerdictPass}
	if math.IsInf(se, 0) {
		// An arm without data (e.g. predictions, which Prometheus does not
		// have) has no interval; ±Inf would also make the evidence
		// unencodable as JSON.
		c.Low, c.High = 0, 0
	}
	rel, of := 0.0, ""
	if scale > 0 {
		rel = diff / scale
	}
	if scale != math.Abs(prod) { // shiftScale returns |prod| itself unless prod is near zero
		of = " of production's spread, its mean being near zero"
	}
	c.Detail = fmt.Sprintf("canary %.4g vs production %.4g (%+.1f%%, allowed ±%.1f%%%s)", canary, prod, 100*rel, 100*tol, of)
	c.Summary = fmt.Sprintf("The canary's mean prediction is %.4g against production's %.4g (%+.1f%%; ±%.1f%%%s allowed).", canary, prod, 100*rel, 100*tol, of)
	outside := math.Abs(diff) > band
	confident := c.Low > band || c.High < -band
	switch {
	case confident:
		c.Verdict = modelgate.VerdictFail
	case outside && final:
		c.Verdict = modelgate.VerdictInconclusive
	case outside:
		c.Verdict = modelgate.VerdictContinue
	}
	if outside {
		c.Detail = fmt.Sprintf("canary %.4g differs from production %.4g by %+.1f%%, more than the allowed ±%.1f%%%s (difference %+.4g, %g-sigma interval [%+.4g, %+.4g])",
			canary, prod, 100*rel, 100*tol, of, diff, zWithin, c.Low, c.High)
	}
	return c
}

// zWithin is the width, in standard errors, of the interval a shift must
// clear before it counts as established. 3 keeps repeated looks from turning
// noise into rollbacks; the sequential judge replaces this rule of thumb.
const zWithin = 3.0

// meanSE is the standard error of the difference of two means.
func meanSE(a, b modelgate.Distribution) float64 {
	return math.Sqrt(varOfMean(a) + varOfMean(b))
}

func varOfMean(d modelgate.Distribution) float64 {
	if d.Count < 2 {
		return math.Inf(1)
	}
	n := float64(d.Count)
	v := (d.SumSq - d.Sum*d.Sum/n) / (n - 1)
	return math.Max(v, 0) / n
}

func num(v float64, unit string) string {
	if unit == "" {
		return fmt.Sprintf("%.3f%%", 100*v)
	}
	return fmt.Sprintf("%.2f%s", v, unit)
}

func decide(checks []modelgate.Check, p modelgate.Progress, early bool) modelgate.Decision {
	pass, inconclusive := 0, false
	for _, c := range checks {
		switch c.Verdict {
		case modelgate.VerdictFail:
			return modelgate.DecisionRollback
		case modelgate.VerdictPass, modelgate.VerdictNotJudged:
			pass++
		case modelgate.VerdictInconclusive:
			inconclusive = true
		}
	}
	switch {
	case inconclusive:
		return modelgate.DecisionHold
	case pass == len(checks) && (p.Final || early):
		return modelgate.DecisionPromote
	case p.Final:
		return modelgate.DecisionHold
	}
	return modelgate.DecisionContinue
}

func reasons(checks []modelgate.Check, w *modelgate.Window, min int64, enough bool) []string {
	if !enough {
		return []string{fmt.Sprintf("Not enough traffic to judge yet: the canary answered %d requests and production %d; each needs %d.", w.Canary.Requests, w.Stable.Requests, min)}
	}
	var failed, all []string
	for _, c := range checks {
		all = append(all, c.Reason())
		if c.Verdict == modelgate.VerdictFail || c.Verdict == modelgate.VerdictInconclusive {
			failed = append(failed, c.Reason())
		}
	}
	if len(failed) > 0 {
		return failed
	}
	return all
}
