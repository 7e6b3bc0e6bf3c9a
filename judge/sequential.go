package judge

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/modelgate/modelgate"
)

// Sequential judges canary against production with anytime-valid
// statistics: every check may be looked at as often as the engine likes
// (each look recomputes it from the window's cumulative figures), and a
// failure is declared only once it is established at the check's level.
//
// The overall false-rollback rate is controlled by Bonferroni over the
// check families: error rate, latency (p50, p95 and p99 of both arms
// share one family), prediction distribution, feature drift (its
// share split again over the features) and the business KPI each get
// Alpha/5, whether or not the window carries their data, so P(any false
// rollback over the whole window) ≤ Alpha under any dependence between
// checks. Its zero value is not useful; start from DefaultSequential.
type Sequential struct {
	// Alpha bounds the probability that a canary no worse than production
	// is rolled back at any look of the window. Default 0.05.
	Alpha float64

	// ErrorRateMargin is how far, in absolute rate, the canary's error rate
	// may exceed production's. Playbook: 0.005 (0.5 percentage points).
	ErrorRateMargin float64
	// StrictErrorMargin makes the error-rate check fail only when the
	// confidence sequence of the difference lies wholly above the margin
	// (level Alpha/5 against "canary ≤ production + margin", slower).
	// Default false: it fails as soon as the count test establishes that
	// the canary errs more than production (level Alpha/5 against
	// "canary ≤ production") and the estimated difference exceeds the margin.
	StrictErrorMargin bool
	// LatencyP95Margin is how much slower the canary's p95 may be. Playbook: 50ms.
	LatencyP95Margin time.Duration
	// RelativeTolerance bounds latency p50 and p99 (and is the KPI's
	// default tolerance). Playbook: 0.05.
	RelativeTolerance float64
	// LatencyFloor is the smallest latency difference that counts for the
	// relative checks. Default 10ms; 0 disables the floor.
	LatencyFloor time.Duration
	// SketchAccuracy is the relative accuracy of the DDSketches in the
	// window; quantile bounds are widened by it. Default 0.01.
	SketchAccuracy float64

	// PredictionMargin is the largest acceptable Kolmogorov–Smirnov
	// distance between canary and production predictions (L∞ distance of
	// class shares for categorical outputs). Default 0.025.
	PredictionMargin float64
	// FeatureMargin is the same for each input feature. Default 0.025.
	FeatureMargin float64
	// PSIAlert and WassersteinAlert raise a numeric feature's drift alert
	// against the training reference (PSI on the reference's deciles;
	// Wasserstein-1 divided by the reference's standard deviation).
	// Defaults 0.2 and 0.1. LInfAlert does it for categorical features
	// (largest change of a category's share). Default 0.1.
	PSIAlert, WassersteinAlert, LInfAlert float64
	// DriftBins is the number of reference-quantile bins for PSI and
	// Jensen–Shannon. Default 10.
	DriftBins int

	// MinRequests is the number of requests per arm below which no check
	// can pass or fail. Default 200.
	MinRequests int64
	// MinDriftSamples is the same for feature drift (PSI noise is about
	// (1/N + 1/M)·χ²_{B−1}: 0.02 at 1,000). Default 1000.
	MinDriftSamples int64

	// KPITolerance: the canary's MAE on joined actuals may exceed
	// production's by this relative amount. Default 0.05.
	KPITolerance float64
	// MinActuals is the number of joined actuals per arm below which the
	// KPI check cannot pass or fail. Default 200.
	MinActuals int64
	// RequireKPI holds the promotion when actuals are missing. Default
	// false: without actuals the KPI check is left out (and said so).
	RequireKPI bool

	// EarlyPromotion allows promoting before the window ends once every
	// check passes. Default false.
	EarlyPromotion bool

	// PriorStrength is the Beta prior's total weight k in the error count
	// test (savvi's default 100). TuneRequests is the canary sample size
	// where the error-rate and KPI confidence sequences are tightest.
	// Defaults 100 and 10000.
	PriorStrength, TuneRequests float64
}

var _ modelgate.Judge = Sequential{}

// families is the number of check families sharing Alpha.
const families = 5

// DefaultSequential returns the playbook's margins with α = 0.05.
func DefaultSequential() Sequential {
	return Sequential{
		Alpha:             0.05,
		ErrorRateMargin:   0.005,
		LatencyP95Margin:  50 * time.Millisecond,
		RelativeTolerance: 0.05,
		LatencyFloor:      10 * time.Millisecond,
		SketchAccuracy:    0.01,
		PredictionMargin:  0.025,
		FeatureMargin:     0.025,
		PSIAlert:          0.2,
		WassersteinAlert:  0.1,
		LInfAlert:         0.1,
		DriftBins:         10,
		MinRequests:       200,
		MinDriftSamples:   1000,
		KPITolerance:      0.05,
		MinActuals:        200,
		PriorStrength:     100,
		TuneRequests:      10000,
	}
}

// CheckAlpha is the level each check family is tested at: Alpha/5.
func (s Sequential) CheckAlpha() float64 { return s.Alpha / families }

// Judge implements modelgate.Judge.
func (s Sequential) Judge(w *modelgate.Window, p modelgate.Progress) modelgate.Judgement {
	var checks []modelgate.Check
	var notes []string
	checks = append(checks, s.errorRate(w, p.Final))
	checks = append(checks, s.latency(w, p.Final)...)
	if c, ok := s.predictions(w, p.Final); ok {
		checks = append(checks, c)
	} else {
		notes = append(notes, "prediction distribution not judged: the window has no prediction sketches or class counts")
	}
	fc, note := s.features(w, p.Final)
	checks = append(checks, fc...)
	if note != "" {
		notes = append(notes, note)
	}
	kc, note := s.kpi(w, p.Final)
	checks = append(checks, kc...)
	if note != "" {
		notes = append(notes, note)
	}
	for i := range checks {
		finite(&checks[i])
	}
	d := decide(checks, p, s.EarlyPromotion)
	return modelgate.Judgement{Decision: d, Checks: checks, Reasons: s.reasons(checks, w, d, notes)}
}

// finite keeps a check encodable as JSON: an unbounded or undefined figure
// (an interval with no upper end yet, an empty arm) is left out (zero).
func finite(c *modelgate.Check) {
	for _, f := range []*float64{&c.Canary, &c.Production, &c.Limit, &c.Low, &c.High} {
		if math.IsNaN(*f) || math.IsInf(*f, 0) {
			*f = 0
		}
	}
	for k, v := range c.Figures {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			delete(c.Figures, k)
		}
	}
}

// resolve turns a check's evidence into its verdict.
func resolve(enough, fail, pass, pointWithin, final bool) modelgate.Verdict {
	switch {
	case !enough && final:
		return modelgate.VerdictInconclusive
	case !enough:
		return modelgate.VerdictContinue
	case fail:
		return modelgate.VerdictFail
	case pass:
		return modelgate.VerdictPass
	case final && pointWithin:
		return modelgate.VerdictPass
	case final:
		return modelgate.VerdictInconclusive
	}
	return modelgate.VerdictContinue
}

// errorRate tests canary error rate ≤ production + margin.
func (s Sequential) errorRate(w *modelgate.Window, final bool) modelgate.Check {
	alpha := s.CheckAlpha()
	c, st := w.Canary, w.Stable
	nc, np := float64(c.Requests), float64(st.Requests)
	xc, xp := float64(c.Errors), float64(st.Errors)
	pc, pp := c.ErrorRate(), st.ErrorRate()
	diff := pc - pp
	enough := c.Requests >= s.MinRequests && st.Requests >= s.MinRequests

	theta0 := 0.0
	if nc+np > 0 {
		theta0 = nc / (nc + np)
	}
	logE := countEValue(xc, xp, theta0, s.PriorStrength)
	worse := logE >= math.Log(1/alpha)
	// Variance plug-ins shrunk away from 0 so that zero errors still give
	// an interval.
	vc := varRate(xc, nc)
	vp := varRate(xp, np)
	r := math.Inf(1)
	if nc > 0 && np > 0 {
		r = asympCSRadius(math.Sqrt((vc/nc+vp/np)*nc), nc, s.TuneRequests, alpha)
	}
	low, high := diff-r, diff+r
	fail := worse && diff > s.ErrorRateMargin
	if s.StrictErrorMargin {
		fail = low > s.ErrorRateMargin
	}
	v := resolve(enough, fail, high < s.ErrorRateMargin, diff <= s.ErrorRateMargin, final)
	ch := modelgate.Check{
		Name: "error_rate", Canary: pc, Production: pp, Limit: pp + s.ErrorRateMargin,
		Low: low, High: high, Verdict: v, Alpha: alpha,
		Figures: map[string]float64{"log_e_value": logE, "log_e_threshold": math.Log(1 / alpha), "canary_share": theta0},
	}
	ch.Detail = fmt.Sprintf("error_rate: canary %.3f%% vs production %.3f%% (limit %.3f%%); difference %+.3fpp, %.0f%% confidence sequence [%+.3f, %+.3f]pp; e-value %.3g (rollback at %.0f)",
		100*pc, 100*pp, 100*(pp+s.ErrorRateMargin), 100*diff, 100*(1-alpha), 100*low, 100*high, math.Exp(math.Min(logE, 700)), 1/alpha)
	if v == modelgate.VerdictFail {
		ch.Detail = "error_rate: established worse than production beyond the margin — " + strings.TrimPrefix(ch.Detail, "error_rate: ")
	}
	return ch
}

func varRate(x, n float64) float64 {
	p := (x + 0.5) / (n + 1)
	return p * (1 - p)
}

// latency compares p50, p95 and p99 with time-uniform confidence
// sequences for each quantile of each arm (quantileRanks), each at
// Alpha/5/6 so the three quantiles of both arms hold together at every look.
func (s Sequential) latency(w *modelgate.Window, final bool) []modelgate.Check {
	alpha := s.CheckAlpha()
	each := alpha / 6
	sc, okc := distSample(w.Canary.LatencyMS)
	sp, okp := distSample(w.Stable.LatencyMS)
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	p95 := func(prod float64) float64 { return prod + ms(s.LatencyP95Margin) }
	rel := func(prod float64) float64 { return relLimit(prod, s.RelativeTolerance, ms(s.LatencyFloor)) }
	type spec struct {
		name  string
		q     float64
		limit func(float64) float64
	}
	specs := []spec{{"latency_p95", 0.95, p95}, {"latency_p50", 0.50, rel}, {"latency_p99", 0.99, rel}}
	out := make([]modelgate.Check, 0, len(specs))
	enough := w.Canary.Requests >= s.MinRequests && w.Stable.Requests >= s.MinRequests
	for _, sp2 := range specs {
		ch := modelgate.Check{Name: sp2.name, Unit: "ms", Alpha: alpha}
		if !okc || !okp {
			ch.Verdict = resolve(false, false, false, false, final)
			ch.Detail = sp2.name + ": no latency sketch for both arms yet"
			out = append(out, ch)
			continue
		}
		qc, qp := sc.quantile(sp2.q), sp.quantile(sp2.q)
		lc, uc := s.quantileBounds(sc, sp2.q, each)
		lp, up := s.quantileBounds(sp, sp2.q, each)
		fail := lc > sp2.limit(up)
		pass := uc < sp2.limit(lp)
		ch.Canary, ch.Production, ch.Limit = qc, qp, sp2.limit(qp)
		ch.Low, ch.High = lc-up, uc-lp
		ch.Verdict = resolve(enough, fail, pass, qc <= sp2.limit(qp), final)
		ch.Figures = map[string]float64{"canary_low": lc, "canary_high": uc, "production_low": lp, "production_high": up}
		ch.Detail = fmt.Sprintf("%s: canary %.1fms [%.1f, %s] vs production %.1fms [%.1f, %s] (limit %.1fms)",
			sp2.name, qc, lc, fmtMS(uc), qp, lp, fmtMS(up), sp2.limit(qp))
		if ch.Verdict == modelgate.VerdictFail {
			ch.Detail = fmt.Sprintf("%s: canary's lower bound %.1fms exceeds the limit %.1fms computed from production's upper bound — %s", sp2.name, lc, sp2.limit(up), strings.TrimPrefix(ch.Detail, sp2.name+": "))
		}
		out = append(out, ch)
	}
	return out
}

func fmtMS(v float64) string {
	if math.IsInf(v, 1) {
		return "∞"
	}
	return fmt.Sprintf("%.1f", v)
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

// distComparison is the canary-vs-production comparison of one quantity.
type distComparison struct {
	d, band float64            // KS (or L∞) distance and its simultaneous half-width
	figures map[string]float64 // effect sizes
	ok      bool               // both arms have data to compare
}

// compareArms compares two arms' distributions of one quantity (numeric by
// sketch, categorical by counts) with a time-uniform band at alpha.
func (s Sequential) compareArms(c, p modelgate.Distribution, alpha float64) distComparison {
	tMin := float64(max(s.MinRequests, 1))
	if len(c.Counts) > 0 || len(p.Counts) > 0 {
		cats := categories(c.Counts, p.Counts)
		qc, qp := shares(c.Counts, cats), shares(p.Counts, cats)
		nc, np := total(c.Counts), total(p.Counts)
		if nc == 0 || np == 0 {
			return distComparison{}
		}
		d := lInf(qc, qp)
		band := 2 * (dkwEpsilon(nc, tMin, alpha/2) + dkwEpsilon(np, tMin, alpha/2))
		chi, pv := chiSquare(counts(c.Counts, cats), qp)
		return distComparison{d: d, band: band, ok: true, figures: map[string]float64{
			"linf": d, "chi2": chi, "chi2_p": pv, "js": jsDistance(qp, qc), "psi": psi(qp, qc)}}
	}
	sc, okc := distSample(c)
	sp, okp := distSample(p)
	if !okc || !okp {
		return distComparison{}
	}
	d := ksD(sc, sp)
	band := dkwEpsilon(sc.n, tMin, alpha/2) + dkwEpsilon(sp.n, tMin, alpha/2)
	f := numericFigures(sp, sc, s.DriftBins)
	f["ks_d"] = d
	f["ks_p"] = ksPValue(d, sc.n, sp.n)
	return distComparison{d: d, band: band, ok: true, figures: f}
}

// numericFigures are the effect sizes of cur against ref: PSI and
// Jensen–Shannon distance on ref's quantile bins, Wasserstein-1 divided by
// ref's standard deviation (floor 0.001, as Evidently).
func numericFigures(ref, cur sample, bins int) map[string]float64 {
	edges := ref.quantileEdges(max(bins, 2))
	pr, pc := ref.binProportions(edges), cur.binProportions(edges)
	_, sd := ref.meanStd()
	return map[string]float64{
		"psi":              psi(pr, pc),
		"js":               jsDistance(pr, pc),
		"wasserstein_norm": wasserstein(ref, cur) / math.Max(sd, 0.001),
	}
}

// predictions compares canary and production predictions.
func (s Sequential) predictions(w *modelgate.Window, final bool) (modelgate.Check, bool) {
	alpha := s.CheckAlpha()
	cmp := s.compareArms(w.Canary.Predictions, w.Stable.Predictions, alpha)
	if !cmp.ok {
		if w.Canary.Predictions.Count == 0 && w.Stable.Predictions.Count == 0 {
			return modelgate.Check{}, false
		}
		ch := modelgate.Check{Name: "prediction_distribution", Alpha: alpha, Verdict: resolve(false, false, false, false, final),
			Detail: "prediction_distribution: not enough predictions in both arms yet"}
		return ch, true
	}
	enough := w.Canary.Requests >= s.MinRequests && w.Stable.Requests >= s.MinRequests
	m := s.PredictionMargin
	ch := modelgate.Check{
		Name: "prediction_distribution", Canary: cmp.d, Limit: m, Low: cmp.d - cmp.band, High: cmp.d + cmp.band, Alpha: alpha, Figures: cmp.figures,
		Verdict: resolve(enough, cmp.d-cmp.band > m, cmp.d+cmp.band < m, cmp.d <= m, final),
	}
	ch.Detail = fmt.Sprintf("prediction_distribution: canary vs production distance %.4f, confidence sequence [%.4f, %.4f] (limit %.3f); %s",
		cmp.d, math.Max(ch.Low, 0), ch.High, m, figureText(cmp.figures))
	return ch, true
}

func figureText(f map[string]float64) string {
	keys := make([]string, 0, len(f))
	for k := range f {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %.4g", k, f[k])
	}
	return strings.Join(parts, ", ")
}

// reasons explains the decision: failures first, then what is unsettled.
func (s Sequential) reasons(checks []modelgate.Check, w *modelgate.Window, d modelgate.Decision, notes []string) []string {
	var failed, open, all []string
	for _, c := range checks {
		all = append(all, c.Detail)
		switch c.Verdict {
		case modelgate.VerdictFail:
			failed = append(failed, c.Detail)
		case modelgate.VerdictInconclusive:
			open = append(open, c.Detail)
		}
	}
	var out []string
	switch {
	case len(failed) > 0:
		out = failed
	case w.Canary.Requests < s.MinRequests || w.Stable.Requests < s.MinRequests:
		out = append([]string{fmt.Sprintf("not enough traffic to judge: canary %d and production %d requests, need %d each", w.Canary.Requests, w.Stable.Requests, s.MinRequests)}, open...)
	case len(open) > 0:
		out = open
	default:
		out = all
	}
	out = append(out, notes...)
	return append(out, fmt.Sprintf("%s at level α = %g overall (%d check families at α/%d = %g each, Bonferroni)", d, s.Alpha, families, families, s.CheckAlpha()))
}
