package judge

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/modelgate/modelgate"
)

// features checks every feature of the training reference: the canary must
// raise no drift alert (against the reference) that production does not
// raise, and that difference must be established by the canary-vs-
// production band at the family's level split over the features.
func (s Sequential) features(w *modelgate.Window, final bool) ([]modelgate.Check, string) {
	if w.Reference == nil || len(w.Reference.Features) == 0 {
		return nil, "feature drift not judged: the version has no training reference profile"
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
		note = fmt.Sprintf("feature drift of %s not judged: production's model does not compute them, so there is no production alert to compare with", strings.Join(missing, ", "))
	}
	if len(names) == 0 {
		return nil, note
	}
	alpha := s.CheckAlpha() / float64(len(names))
	out := make([]modelgate.Check, 0, len(names))
	for _, n := range names {
		out = append(out, s.feature(n, w.Reference.Features[n], w.Canary.Features[n], w.Stable.Features[n], alpha, final))
	}
	return out, note
}

// driftAlert is one arm's drift against the reference.
type driftAlert struct {
	alert   bool
	figures map[string]float64
}

func (s Sequential) alertOf(ref, cur modelgate.Distribution) (driftAlert, bool) {
	f, err := DriftFigures(ref, cur, s.DriftBins)
	if err != nil {
		return driftAlert{}, false
	}
	if len(ref.Counts) > 0 {
		return driftAlert{alert: f["linf"] >= s.LInfAlert, figures: f}, true
	}
	return driftAlert{alert: f["psi"] >= s.PSIAlert || f["wasserstein_norm"] >= s.WassersteinAlert, figures: f}, true
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

func (s Sequential) feature(name string, ref, c, p modelgate.Distribution, alpha float64, final bool) modelgate.Check {
	ch := modelgate.Check{Name: "feature_drift:" + name, Limit: s.FeatureMargin, Alpha: alpha}
	ac, okc := s.alertOf(ref, c)
	ap, okp := s.alertOf(ref, p)
	cmp := s.compareArms(c, p, alpha)
	enough := okc && okp && cmp.ok && c.Count >= s.MinDriftSamples && p.Count >= s.MinDriftSamples
	if !enough {
		ch.Verdict = resolve(false, false, false, false, final)
		ch.Detail = fmt.Sprintf("%s: %d canary and %d production values, need %d each to judge drift", ch.Name, c.Count, p.Count, s.MinDriftSamples)
		return ch
	}
	newAlert := ac.alert && !ap.alert
	ch.Canary, ch.Low, ch.High = cmp.d, cmp.d-cmp.band, cmp.d+cmp.band
	ch.Figures = map[string]float64{"canary_vs_production": cmp.d}
	for k, v := range ac.figures {
		ch.Figures["canary_"+k] = v
	}
	for k, v := range ap.figures {
		ch.Figures["production_"+k] = v
	}
	fail := newAlert && cmp.d-cmp.band > s.FeatureMargin
	pass := !newAlert || cmp.d+cmp.band < s.FeatureMargin
	ch.Verdict = resolve(true, fail, pass, !newAlert, final)
	state := "no drift alert"
	switch {
	case ac.alert && ap.alert:
		state = "both arms drift from the training reference (not the canary's doing)"
	case newAlert:
		state = "the canary drifts from the training reference and production does not"
	case ap.alert:
		state = "production drifts from the training reference, the canary does not"
	}
	ch.Detail = fmt.Sprintf("%s: %s; canary vs production distance %.4f, confidence sequence [%.4f, %.4f] (limit %.3f); canary vs reference: %s",
		ch.Name, state, cmp.d, math.Max(ch.Low, 0), ch.High, s.FeatureMargin, figureText(ac.figures))
	return ch
}

// kpi compares the canary's MAE on joined actuals with production's.
func (s Sequential) kpi(w *modelgate.Window, final bool) ([]modelgate.Check, string) {
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
			return nil, ""
		}
		return nil, fmt.Sprintf("business KPI not judged: %d canary and %d production actuals joined, need %d each", nc, np, s.MinActuals)
	}
	alpha := s.CheckAlpha()
	ch := modelgate.Check{Name: "kpi_mae", Alpha: alpha}
	if !enough {
		ch.Verdict = resolve(false, false, false, false, final)
		ch.Detail = fmt.Sprintf("kpi_mae: %d canary and %d production actuals joined, need %d each", nc, np, s.MinActuals)
		return []modelgate.Check{ch}, ""
	}
	tol := 1 + s.KPITolerance
	mc, mp := ac.MAE(), ap.MAE()
	diff := mc - tol*mp
	vc := math.Max(ac.SumSqAbsErr/float64(nc)-mc*mc, 0)
	vp := math.Max(ap.SumSqAbsErr/float64(np)-mp*mp, 0)
	n := float64(nc)
	r := asympCSRadius(math.Sqrt((vc/n+tol*tol*vp/float64(np))*n), n, s.TuneRequests, alpha)
	ch.Canary, ch.Production, ch.Limit = mc, mp, tol*mp
	ch.Low, ch.High = diff-r, diff+r
	ch.Verdict = resolve(true, diff-r > 0, diff+r < 0, diff <= 0, final)
	ch.Figures = map[string]float64{"canary_wape": ac.WAPE(), "production_wape": ap.WAPE(), "canary_actuals": n, "production_actuals": float64(np)}
	ch.Detail = fmt.Sprintf("kpi_mae: canary MAE %.4g (WAPE %.2f%%) vs production %.4g (WAPE %.2f%%), limit %.4g; excess over the limit %+.4g, confidence sequence [%+.4g, %+.4g]",
		mc, 100*ac.WAPE(), mp, 100*ap.WAPE(), tol*mp, diff, ch.Low, ch.High)
	return []modelgate.Check{ch}, ""
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
