package judge

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/modelgate/modelgate"
)

// features checks every feature of the training reference: the canary
// must raise no drift alert against the reference that production does not
// raise (its drift level may reach the alert level, or production's level
// plus a quarter of it), and a new alert counts only when the canary's and
// production's values differ clearly (the canary-vs-production band at the
// family's level split over the features).
func (s Sequential) features(w *modelgate.Window, p modelgate.Progress) ([]modelgate.Check, string) {
	if w.Reference == nil || len(w.Reference.Features) == 0 {
		return nil, "Input drift is not judged: the version was registered without a training reference profile (register it with --reference-sample)."
	}
	var names, missing []string
	for n := range w.Reference.Features {
		// A feature production's model does not compute cannot show "an
		// alert production does not raise": say so instead of waiting for
		// data that will never come.
		if w.Stable.Features[n].Count == 0 && w.Canary.Features[n].Count > 0 {
			missing = append(missing, n)
			continue
		}
		names = append(names, n)
	}
	sort.Strings(names)
	sort.Strings(missing)
	note := ""
	if len(missing) > 0 {
		note = fmt.Sprintf("Input drift of %s is not judged: production's model does not compute these features, so there is no production alert to compare with.", strings.Join(missing, ", "))
	}
	if len(names) == 0 {
		return nil, note
	}
	alpha := s.CheckAlpha() / float64(len(names))
	out := make([]modelgate.Check, 0, len(names))
	for _, n := range names {
		out = append(out, s.feature(n, w.Reference.Features[n], w.Canary.Features[n], w.Stable.Features[n], alpha, p))
	}
	return out, note
}

// driftAlert is one arm's drift against the reference.
type driftAlert struct {
	level   float64 // the drift figure as a share of its alert threshold: 1 raises the alert
	figures map[string]float64
}

func (s Sequential) alertOf(ref, cur modelgate.Distribution) (driftAlert, bool) {
	f, err := DriftFigures(ref, cur, s.DriftBins)
	if err != nil {
		return driftAlert{}, false
	}
	if len(ref.Counts) > 0 {
		return driftAlert{level: f["linf"] / s.LInfAlert, figures: f}, true
	}
	return driftAlert{level: math.Max(f["psi"]/s.PSIAlert, f["wasserstein_norm"]/s.WassersteinAlert), figures: f}, true
}

// ErrNoData is returned by DriftFigures when either side has nothing to
// compare.
var ErrNoData = errors.New("no data to compare")

// DriftFigures compares a current distribution with a reference one and
// returns the drift figures. Numeric (by sketch): "psi" and "js"
// (Jensen–Shannon distance, nats) on bins bins from the reference's
// quantiles, "wasserstein_norm" (Wasserstein-1 over the reference's
// standard deviation), "ks_d" and its fixed-sample "ks_p". Categorical (by
// counts, when the reference has them): "chi2" and "chi2_p" (goodness of
// fit to the reference shares), "linf", "js", "psi". Memory and time depend
// on the sketches' sizes, not on the number of values behind them.
func DriftFigures(ref, cur modelgate.Distribution, bins int) (map[string]float64, error) {
	if len(ref.Counts) > 0 {
		cats := categories(ref.Counts, cur.Counts)
		pr, pc := shares(ref.Counts, cats), shares(cur.Counts, cats)
		if total(cur.Counts) == 0 {
			return nil, ErrNoData
		}
		chi, p := chiSquare(counts(cur.Counts, cats), pr)
		return map[string]float64{"linf": lInf(pr, pc), "chi2": chi, "chi2_p": p, "js": jsDistance(pr, pc), "psi": psi(pr, pc)}, nil
	}
	rs, ok1 := distSample(ref)
	cs, ok2 := distSample(cur)
	if !ok1 || !ok2 {
		return nil, ErrNoData
	}
	f := numericFigures(rs, cs, bins)
	d := ksD(rs, cs)
	f["ks_d"], f["ks_p"] = d, ksPValue(d, rs.n, cs.n)
	return f, nil
}

func (s Sequential) feature(name string, ref, c, p modelgate.Distribution, alpha float64, pr modelgate.Progress) modelgate.Check {
	ch := modelgate.Check{Name: "feature_drift:" + name, Unit: "of alert level", Alpha: alpha}
	ac, okc := s.alertOf(ref, c)
	ap, okp := s.alertOf(ref, p)
	cmp := s.compareArms(c, p, alpha)
	enough := okc && okp && cmp.ok && c.Count >= s.MinDriftSamples && p.Count >= s.MinDriftSamples
	if !enough {
		ch.Verdict = s.verdict(finding{optional: true}, pr)
		ch.Summary = fmt.Sprintf("Input %s: %d canary and %d production values so far; drift is judged from %d each.", name, c.Count, p.Count, s.MinDriftSamples)
		return ch
	}
	limit := math.Max(1, ap.level+0.25)
	within := ac.level <= limit
	f := finding{enough: true, optional: true, harm: !within && cmp.d-cmp.band > s.FeatureMargin, proven: within, within: within, resolvable: true}
	ch.Canary, ch.Production, ch.Limit, ch.Verdict = ac.level, ap.level, limit, s.verdict(f, pr)
	ch.Figures = map[string]float64{"canary_vs_production": cmp.d, "canary_vs_production_low": math.Max(cmp.d-cmp.band, 0)}
	for k, v := range ac.figures {
		ch.Figures["canary_"+k] = v
	}
	for k, v := range ap.figures {
		ch.Figures["production_"+k] = v
	}
	ch.Summary = driftSummary(ch, name)
	ch.Detail = fmt.Sprintf("canary vs production %s distance %.4f, confidence sequence [%.4f, %.4f] (a new alert counts beyond %.3f); canary vs reference: %s",
		cmp.metric, cmp.d, math.Max(cmp.d-cmp.band, 0), math.Min(cmp.d+cmp.band, 1), s.FeatureMargin, figureText(ac.figures))
	return ch
}

func driftSummary(c modelgate.Check, name string) string {
	head := fmt.Sprintf("Input %s: the canary's values drift from the training data at %.2f of the alert level, production's at %.2f", name, c.Canary, c.Production)
	switch c.Verdict {
	case modelgate.VerdictFail:
		return head + ": the canary raises a drift alert production does not, and its inputs clearly differ from production's."
	case modelgate.VerdictInconclusive:
		return head + ": the canary raises a drift alert production does not, but its inputs do not clearly differ from production's; a person decides."
	}
	if c.Production >= 1 {
		return head + ": both drift, so it is not the canary's doing."
	}
	return head + ": no new drift alert."
}

// kpi compares the canary's MAE on joined actuals with production's.
func (s Sequential) kpi(w *modelgate.Window, p modelgate.Progress) ([]modelgate.Check, string) {
	ac, ap := w.Canary.Accuracy, w.Stable.Accuracy
	var nc, np int64
	if ac != nil {
		nc = ac.Count
	}
	if ap != nil {
		np = ap.Count
	}
	enough := nc >= s.MinActuals && np >= s.MinActuals
	if !enough && !s.RequireKPI {
		if ac == nil && ap == nil {
			return nil, "The business KPI is not judged: no actuals are collected (set actuals.enabled and post outcomes to /actuals)."
		}
		return nil, fmt.Sprintf("The business KPI is not judged yet: %d canary and %d production actuals joined, %d each needed.", nc, np, s.MinActuals)
	}
	ch := modelgate.Check{Name: "kpi_mae", Alpha: s.CheckAlpha()}
	if !enough {
		ch.Verdict = s.verdict(finding{}, p)
		ch.Summary = fmt.Sprintf("Business KPI: %d canary and %d production actuals joined, %d each needed.", nc, np, s.MinActuals)
		return []modelgate.Check{ch}, ""
	}
	return []modelgate.Check{s.kpiCheck(ch, *ac, *ap, p)}, ""
}

func (s Sequential) kpiCheck(ch modelgate.Check, ac, ap modelgate.Accuracy, p modelgate.Progress) modelgate.Check {
	tol := 1 + s.KPITolerance
	mc, mp := ac.MAE(), ap.MAE()
	diff := mc - tol*mp
	vc := math.Max(ac.SumSqAbsErr/float64(ac.Count)-mc*mc, 0)
	vp := math.Max(ap.SumSqAbsErr/float64(ap.Count)-mp*mp, 0)
	n := float64(ac.Count)
	se := math.Sqrt(vc/n + tol*tol*vp/float64(ap.Count))
	r := asympCSRadius(se*math.Sqrt(n), n, s.TuneRequests, ch.Alpha)
	f := finding{enough: true, harm: diff-r > 0, proven: diff+r < 0, within: s.below(diff, se, 0), resolvable: s.resolvable(se, s.KPITolerance*mp)}
	ch.Canary, ch.Production, ch.Limit = mc, mp, tol*mp
	ch.Low, ch.High, ch.Verdict = diff-r, diff+r, s.verdict(f, p)
	ch.Figures = map[string]float64{"canary_wape": ac.WAPE(), "production_wape": ap.WAPE(), "canary_actuals": n, "production_actuals": float64(ap.Count)}
	word := map[bool]string{true: "within", false: "beyond"}[mc <= tol*mp]
	ch.Summary = fmt.Sprintf("On %d joined actuals the canary's mean absolute error is %.4g against production's %.4g, %s the allowed %.4g (%.0f%% more).",
		ac.Count, mc, mp, word, tol*mp, 100*s.KPITolerance)
	ch.Detail = fmt.Sprintf("WAPE %.2f%% vs %.2f%%; excess over the limit %+.4g, confidence sequence [%+.4g, %+.4g]", 100*ac.WAPE(), 100*ap.WAPE(), diff, ch.Low, ch.High)
	return ch
}

// categories returns the sorted union of the maps' keys.
func categories(ms ...map[string]int64) []string {
	seen := map[string]bool{}
	var out []string
	for _, m := range ms {
		for k := range m {
			if !seen[k] {
				seen[k] = true
				out = append(out, k)
			}
		}
	}
	sort.Strings(out)
	return out
}

func counts(m map[string]int64, cats []string) []float64 {
	out := make([]float64, len(cats))
	for i, c := range cats {
		out[i] = float64(m[c])
	}
	return out
}

func shares(m map[string]int64, cats []string) []float64 { return normalise(counts(m, cats)) }

func total(m map[string]int64) float64 {
	var t float64
	for _, v := range m {
		t += float64(v)
	}
	return t
}
