package judge

import (
	"fmt"
	"math"

	"github.com/modelgate/modelgate"
)

// errorRate tests canary error rate ≤ production + margin.
func (s Sequential) errorRate(w *modelgate.Window, p modelgate.Progress) modelgate.Check {
	alpha := s.CheckAlpha()
	c, st := w.Canary, w.Stable
	nc, np := float64(c.Requests), float64(st.Requests)
	pc, pp := c.ErrorRate(), st.ErrorRate()
	diff := pc - pp
	theta0 := 0.0
	if nc+np > 0 {
		theta0 = nc / (nc + np)
	}
	logE := countEValue(float64(c.Errors), float64(st.Errors), theta0, s.PriorStrength)
	se := rateDiffSE(c, st)
	r := math.Inf(1)
	if nc > 0 && np > 0 {
		r = asympCSRadius(se*math.Sqrt(nc), nc, s.TuneRequests, alpha)
	}
	low, high := math.Max(diff-r, -1), math.Min(diff+r, 1)
	f := finding{
		enough: c.Requests >= s.MinRequests && st.Requests >= s.MinRequests,
		harm:   logE >= math.Log(1/alpha) && diff > s.ErrorRateMargin,
		proven: high < s.ErrorRateMargin, within: s.below(diff, se, s.ErrorRateMargin),
		resolvable: s.resolvable(se, s.ErrorRateMargin), gating: true,
	}
	if s.StrictErrorMargin {
		f.harm = low > s.ErrorRateMargin
	}
	ch := modelgate.Check{
		Name: "error_rate", Unit: "rate", Canary: pc, Production: pp, Limit: pp + s.ErrorRateMargin,
		Low: low, High: high, Alpha: alpha, Verdict: s.verdict(f, p),
		Figures: map[string]float64{"log_e_value": logE, "log_e_threshold": math.Log(1 / alpha), "canary_share": theta0, "standard_error": se},
	}
	ch.Summary = errorSummary(ch, diff, s.ErrorRateMargin, c.Requests)
	ch.Detail = fmt.Sprintf("difference %+.3f points, %s confidence sequence [%+.3f, %+.3f]; count test e-value %.3g, rollback at %.0f",
		100*diff, level(alpha), 100*low, 100*high, math.Exp(math.Min(logE, 700)), 1/alpha)
	return ch
}

// rateDiffSE is the standard error of the difference of two error rates,
// with each rate shrunk away from 0 so that no errors still has an error.
func rateDiffSE(c, p modelgate.RevisionStats) float64 {
	if c.Requests == 0 || p.Requests == 0 {
		return math.NaN()
	}
	return math.Sqrt(varRate(float64(c.Errors), float64(c.Requests))/float64(c.Requests) +
		varRate(float64(p.Errors), float64(p.Requests))/float64(p.Requests))
}

func varRate(x, n float64) float64 {
	q := (x + 0.5) / (n + 1)
	return q * (1 - q)
}

func errorSummary(c modelgate.Check, diff, margin float64, n int64) string {
	head := fmt.Sprintf("The canary failed %.2f%% of its %d requests, production %.2f%%", 100*c.Canary, n, 100*c.Production)
	switch c.Verdict {
	case modelgate.VerdictFail:
		return fmt.Sprintf("%s: %.2f points more, beyond the allowed %.2f, and too many to be chance.", head, 100*diff, 100*margin)
	case modelgate.VerdictInconclusive:
		return fmt.Sprintf("%s: %.2f points more than production, beyond the allowed %.2f, but not clearly beyond chance; a person decides.", head, 100*diff, 100*margin)
	case modelgate.VerdictNotJudged:
		return fmt.Sprintf("Error rate not judged by its estimate: with %d canary requests it is uncertain by ±%.2f points, more than half the %.2f-point margin (only a clear excess would roll back).",
			n, 100*c.Figures["standard_error"], 100*margin)
	}
	return fmt.Sprintf("%s: %+.2f points, within the allowed %.2f more.", head, 100*diff, 100*margin)
}
