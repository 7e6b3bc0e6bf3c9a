package judge

import (
	"fmt"
	"math"
	"time"

	"github.com/modelgate/modelgate"
)

// quantileSpec is one latency quantile and how its limit follows from
// production's value.
type quantileSpec struct {
	name  string
	q     float64
	limit func(prod float64) float64
}

func (s Sequential) latencySpecs() []quantileSpec {
	p95 := func(prod float64) float64 { return prod + ms(s.LatencyP95Margin) }
	rel := func(prod float64) float64 { return relLimit(prod, s.RelativeTolerance, ms(s.LatencyFloor)) }
	return []quantileSpec{{"latency_p95", 0.95, p95}, {"latency_p50", 0.50, rel}, {"latency_p99", 0.99, rel}}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func relLimit(prod, tol, floor float64) float64 {
	return prod + math.Max(prod*tol, floor)
}

// latency compares p50, p95 and p99 with time-uniform confidence
// sequences for each quantile of each arm (quantileRanks), each at
// Alpha/5/6 so the three quantiles of both arms hold together at every look.
func (s Sequential) latency(w *modelgate.Window, p modelgate.Progress) []modelgate.Check {
	sc, okc := distSample(w.Canary.LatencyMS)
	sp, okp := distSample(w.Stable.LatencyMS)
	enough := w.Canary.Requests >= s.MinRequests && w.Stable.Requests >= s.MinRequests
	out := make([]modelgate.Check, 0, 3)
	for _, spec := range s.latencySpecs() {
		if !okc || !okp {
			out = append(out, modelgate.Check{Name: spec.name, Unit: "ms", Alpha: s.CheckAlpha(),
				Verdict: s.verdict(finding{}, p), Summary: "No latency measured in both versions yet."})
			continue
		}
		out = append(out, s.quantileCheck(spec, sc, sp, enough, p))
	}
	return out
}

func (s Sequential) quantileCheck(spec quantileSpec, sc, sp sample, enough bool, p modelgate.Progress) modelgate.Check {
	alpha := s.CheckAlpha()
	qc, qp := sc.quantile(spec.q), sp.quantile(spec.q)
	lc, uc := s.quantileBounds(sc, spec.q, alpha/6)
	lp, up := s.quantileBounds(sp, spec.q, alpha/6)
	se := math.Hypot(quantileSE(sc, spec.q), quantileSE(sp, spec.q))
	// Whether the window can resolve the margin is a property of its
	// traffic, not of this canary: judge it on production's spread (the
	// larger, steadier sample) at both arms' sizes.
	seNull := quantileSE(sp, spec.q) * math.Sqrt(1+sp.n/sc.n)
	margin := spec.limit(qp) - qp
	f := finding{enough: enough, harm: lc > spec.limit(up), proven: uc < spec.limit(lp), within: s.below(qc-qp, se, margin),
		resolvable: s.resolvable(seNull, margin), gating: spec.name == "latency_p95"}
	ch := modelgate.Check{Name: spec.name, Unit: "ms", Canary: qc, Production: qp, Limit: spec.limit(qp),
		Low: lc - up, High: uc - lp, Alpha: alpha, Verdict: s.verdict(f, p),
		Figures: map[string]float64{"canary_low": lc, "canary_high": uc, "production_low": lp, "production_high": up, "standard_error": se}}
	ch.Summary = latencySummary(ch, margin, seNull, sc.n)
	ch.Detail = fmt.Sprintf("canary %.1f ms in [%.1f, %s], production %.1f ms in [%.1f, %s] at every look (level %.2g each)",
		qc, lc, fmtMS(uc), qp, lp, fmtMS(up), alpha/6)
	return ch
}

func fmtMS(v float64) string {
	if math.IsInf(v, 1) {
		return "∞"
	}
	return fmt.Sprintf("%.1f", v)
}

// quantileSE estimates the standard error of the q-quantile of x from the
// spread of the empirical quantiles three rank standard errors either side
// (a narrower span often falls inside one sketch bucket and reads as 0).
func quantileSE(x sample, q float64) float64 {
	if x.n < 2 {
		return math.NaN()
	}
	r := math.Sqrt(q * (1 - q) / x.n)
	return (x.quantile(math.Min(q+3*r, 1)) - x.quantile(math.Max(q-3*r, 0))) / 6
}

func latencySummary(c modelgate.Check, margin, se, n float64) string {
	what := map[string]string{"latency_p50": "median", "latency_p95": "95th-percentile", "latency_p99": "99th-percentile"}[c.Name]
	diff := c.Canary - c.Production
	head := fmt.Sprintf("The canary's %s latency is %.1f ms against production's %.1f ms", what, c.Canary, c.Production)
	switch c.Verdict {
	case modelgate.VerdictFail:
		return fmt.Sprintf("%s: %.1f ms slower, beyond the allowed %.1f ms, and clearly so.", head, diff, margin)
	case modelgate.VerdictInconclusive:
		return fmt.Sprintf("%s: %.1f ms slower, beyond the allowed %.1f ms, but not clearly beyond chance; a person decides.", head, diff, margin)
	case modelgate.VerdictNotJudged:
		return fmt.Sprintf("The %s latency is not judged by its estimate: with %.0f canary requests it is uncertain by ±%.1f ms, more than half the %.1f ms it must detect (only a clear slowdown would roll back).",
			what, n, se, margin)
	}
	if diff <= 0 {
		return fmt.Sprintf("%s: no slower (allowed %.1f ms more).", head, margin)
	}
	return fmt.Sprintf("%s: %.1f ms slower, within the allowed %.1f ms.", head, diff, margin)
}

// quantileBounds is the confidence sequence of quantile q at level alpha,
// widened by the sketch's relative accuracy (values are non-negative).
func (s Sequential) quantileBounds(x sample, q, alpha float64) (lo, hi float64) {
	rl, rh := quantileRanks(q, x.n, alpha, s.PriorStrength)
	acc := s.SketchAccuracy
	lo, hi = 0, math.Inf(1)
	if rl > 0 {
		lo = x.quantile(rl) / (1 + acc)
	}
	if rh < 1 {
		hi = x.quantile(rh) / (1 - acc)
	}
	return lo, hi
}
