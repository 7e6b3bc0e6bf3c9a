package judge

import (
	"fmt"
	"math"

	"github.com/modelgate/modelgate"
)

// A new model is meant to predict differently from the one it replaces
// (statistics-and-drift.md §1.5). The prediction checks therefore ask
// whether the canary moved further than staging justified: a shift that
// ground truth backs (the candidate at least as accurate as production on
// the evaluation data) is allowed with the tolerance around it; without
// such backing the playbook's guardrail holds (mean within 5% of
// production's, and a distance an ordinary retrain stays below).

// allowance is how far the canary's predictions may move.
type allowance struct {
	lo, hi float64 // allowed mean shift
	dist   float64 // allowed distance between the distributions
	why    string  // a plain clause saying where the range comes from
}

func (s Sequential) allowance(e *modelgate.Expectation) allowance {
	tol := s.PredictionTolerance
	a := allowance{lo: -tol, hi: tol, dist: s.PredictionMargin,
		why: "nothing in staging justifies a larger change"}
	if e.Justified() == nil && e.Find("evaluation") == nil {
		a.why = "no ground truth was evaluated in staging to justify a larger change"
	}
	if j := e.Justified(); j != nil {
		a.lo, a.hi = math.Min(0, j.MeanShift)-tol, math.Max(0, j.MeanShift)+tol
		a.dist = math.Max(s.PredictionMargin, j.Distance+s.ExpectationSlack)
		acc := j.Accuracy
		a.why = fmt.Sprintf("on staging's %s data (%d rows) the candidate was at least as accurate as production (%s %.4g vs %.4g) and forecast %+.1f%%",
			j.Source, j.Rows, acc.Metric, acc.Candidate, acc.Production, 100*j.MeanShift)
	}
	return a
}

// predictions compares canary and production predictions: the mean shift
// (on mirrored requests when the platform mirrors them) and the distance
// between the two distributions. The two share the family's α.
func (s Sequential) predictions(w *modelgate.Window, p modelgate.Progress) ([]modelgate.Check, string) {
	c, st := w.Canary.Predictions, w.Stable.Predictions
	if c.Count == 0 && st.Count == 0 && w.Canary.Paired == nil {
		return nil, "Predictions are not judged: the metrics source reports none for either version (on KServe, point the inference logger at modelgate's payload receiver)."
	}
	a := s.allowance(w.Expected)
	alpha := s.CheckAlpha() / 2
	var out []modelgate.Check
	if len(c.Counts) == 0 && len(st.Counts) == 0 {
		out = append(out, s.meanShift(w, a, alpha, p))
	}
	return append(out, s.distribution(w, a, alpha, p)), ""
}

// shiftEstimate is the canary's relative mean shift and its uncertainty.
type shiftEstimate struct {
	shift, se, radius float64
	n                 float64
	paired            bool
}

// estimateShift prefers mirrored pairs: the same requests through both
// versions take most of the noise out of the comparison.
func (s Sequential) estimateShift(w *modelgate.Window, alpha float64) (shiftEstimate, bool) {
	if pr := w.Canary.Paired; pr != nil && pr.Count >= s.MinRequests && pr.SumStable != 0 {
		n := float64(pr.Count)
		scale := shiftScale(pr.SumStable/n, w.Stable.Predictions)
		md := pr.SumDiff / n
		sd := math.Sqrt(math.Max(pr.SumSqDiff/n-md*md, 0)) / scale
		return shiftEstimate{shift: md / scale, se: sd / math.Sqrt(n), radius: asympCSRadius(sd, n, s.TuneRequests, alpha), n: n, paired: true}, true
	}
	c, st := w.Canary.Predictions, w.Stable.Predictions
	if c.Count < 2 || st.Count < 2 {
		return shiftEstimate{}, false
	}
	mc, mp := c.Mean(), st.Mean()
	scale := shiftScale(mp, st)
	if scale == 0 {
		return shiftEstimate{}, false
	}
	nc := float64(c.Count)
	se := math.Sqrt(varOf(c)/nc+varOf(st)/float64(st.Count)) / scale
	return shiftEstimate{shift: (mc - mp) / scale, se: se, radius: asympCSRadius(se*math.Sqrt(nc), nc, s.TuneRequests, alpha), n: nc}, true
}

// shiftScale is what a relative shift of predictions whose production mean
// is mean is measured against: the mean's size, or production's spread when
// the mean is near zero (targets centred on zero would otherwise make any
// change an enormous relative shift, and the band around them vanish).
func shiftScale(mean float64, prod modelgate.Distribution) float64 {
	scale := math.Abs(mean)
	if sd := math.Sqrt(varOf(prod)); scale < 0.1*sd {
		return sd
	}
	return scale
}

// varOf is a distribution's sample variance.
func varOf(d modelgate.Distribution) float64 {
	if d.Count < 2 {
		return math.NaN()
	}
	n := float64(d.Count)
	return math.Max((d.SumSq-d.Sum*d.Sum/n)/(n-1), 0)
}

func (s Sequential) meanShift(w *modelgate.Window, a allowance, alpha float64, p modelgate.Progress) modelgate.Check {
	ch := modelgate.Check{Name: "prediction_mean", Kind: modelgate.KindShift, Limit: a.hi, LimitLow: a.lo, Alpha: alpha}
	e, ok := s.estimateShift(w, alpha)
	if !ok {
		ch.Verdict = s.verdict(finding{}, p)
		ch.Summary = "Not enough predictions in both versions yet to compare their means."
		return ch
	}
	low, high := e.shift-e.radius, e.shift+e.radius
	if w.Canary.Predictions.Min >= 0 && w.Stable.Predictions.Min >= 0 {
		low = math.Max(low, -1) // non-negative forecasts cannot fall by more than all of them
	}
	f := finding{enough: e.n >= float64(s.MinRequests) && w.Stable.Requests >= s.MinRequests,
		harm: low > a.hi || high < a.lo, proven: low >= a.lo && high <= a.hi,
		within:     s.below(e.shift, e.se, a.hi) && s.below(-e.shift, e.se, -a.lo),
		resolvable: s.resolvable(e.se, s.PredictionTolerance), gating: true}
	ch.Canary, ch.Low, ch.High, ch.Verdict = e.shift, low, high, s.verdict(f, p)
	ch.Figures = map[string]float64{"standard_error": e.se, "compared": e.n, "canary_mean": w.Canary.Predictions.Mean(), "production_mean": w.Stable.Predictions.Mean()}
	ch.Summary = shiftSummary(ch, e, a, w.Expected)
	ch.Detail = fmt.Sprintf("mean shift %+.2f%%, %s confidence sequence [%+.2f%%, %+.2f%%], allowed [%+.1f%%, %+.1f%%]",
		100*e.shift, level(alpha), 100*low, 100*high, 100*a.lo, 100*a.hi)
	return ch
}

func shiftSummary(c modelgate.Check, e shiftEstimate, a allowance, exp *modelgate.Expectation) string {
	on := fmt.Sprintf("over %.0f canary requests", e.n)
	if e.paired {
		on = fmt.Sprintf("on %.0f production predictions mirrored to it", e.n)
	}
	head := fmt.Sprintf("The canary forecasts %+.1f%% against production on average (%s)", 100*c.Canary, on)
	allowed := fmt.Sprintf("%+.1f%% to %+.1f%% is allowed because %s", 100*a.lo, 100*a.hi, a.why)
	switch c.Verdict {
	case modelgate.VerdictFail:
		return fmt.Sprintf("%s; %s, and the difference is clear.%s", head, allowed, stagingHint(exp))
	case modelgate.VerdictInconclusive:
		return fmt.Sprintf("%s; %s, but the excess is not clearly beyond chance; a person decides.", head, allowed)
	case modelgate.VerdictNotJudged:
		return fmt.Sprintf("The mean forecast is not judged by its estimate: it is uncertain by ±%.1f%%, more than half the allowed %.1f%% (only a clear shift would roll back).", 100*e.se, 100*(a.hi-a.lo)/2)
	}
	return fmt.Sprintf("%s; %s.", head, allowed)
}

// stagingHint adds what staging already saw on production's own recent
// requests, when that foretold the failure.
func stagingHint(exp *modelgate.Expectation) string {
	if d := exp.Find("recent_requests"); d != nil {
		return fmt.Sprintf(" Staging saw %+.1f%% on %d recent production requests too.", 100*d.MeanShift, d.Rows)
	}
	return ""
}

// distribution compares the shape of the two arms' predictions.
func (s Sequential) distribution(w *modelgate.Window, a allowance, alpha float64, p modelgate.Progress) modelgate.Check {
	ch := modelgate.Check{Name: "prediction_distribution", Kind: modelgate.KindDistance, Limit: a.dist, Alpha: alpha}
	cmp := s.compareArms(w.Canary.Predictions, w.Stable.Predictions, alpha)
	if !cmp.ok {
		ch.Verdict = s.verdict(finding{}, p)
		ch.Summary = "Not enough predictions in both versions yet to compare their distributions."
		return ch
	}
	f := finding{enough: w.Canary.Requests >= s.MinRequests && w.Stable.Requests >= s.MinRequests,
		harm: cmp.d-cmp.band > a.dist, proven: cmp.d+cmp.band < a.dist, within: s.below(cmp.d, cmp.noise, a.dist),
		resolvable: s.resolvable(cmp.noise, a.dist)}
	ch.Canary, ch.Low, ch.High, ch.Figures = cmp.d, math.Max(cmp.d-cmp.band, 0), math.Min(cmp.d+cmp.band, 1), cmp.figures
	ch.Verdict = s.verdict(f, p)
	ch.Summary = distanceSummary(ch, a)
	ch.Detail = fmt.Sprintf("%s distance %.4f, confidence sequence [%.4f, %.4f]; %s", cmp.metric, cmp.d, ch.Low, ch.High, figureText(cmp.figures))
	return ch
}

func distanceSummary(c modelgate.Check, a allowance) string {
	head := fmt.Sprintf("The canary's forecasts are distributed %s production's: distance %.3f (0 is identical, 1 is no overlap)",
		map[bool]string{true: "like", false: "differently from"}[c.Canary <= c.Limit], c.Canary)
	switch c.Verdict {
	case modelgate.VerdictFail:
		return fmt.Sprintf("%s, clearly beyond the allowed %.3f (%s).", head, c.Limit, a.why)
	case modelgate.VerdictInconclusive:
		return fmt.Sprintf("%s, beyond the allowed %.3f but not clearly; a person decides.", head, c.Limit)
	case modelgate.VerdictNotJudged:
		return fmt.Sprintf("The distribution of forecasts is not judged by its estimate: too few predictions to resolve a distance of %.3f.", c.Limit)
	}
	return fmt.Sprintf("%s, within the allowed %.3f.", head, c.Limit)
}
