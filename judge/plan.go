package judge

import (
	"fmt"
	"math"
	"time"

	"github.com/modelgate/modelgate"
)

// z90 is the standard normal quantile for 90% power.
const z90 = 1.2816

// Plan implements modelgate.Planner: from the traffic measured so far it
// projects the arms' sizes at the end of the window and says, per check
// family, how large a regression the window rolls back with about 90%
// power, and which configured margins it cannot resolve at all. The
// projections use the normal approximation to each estimate's spread at
// the end of the window and the width of its confidence sequence there;
// judgesim's scenarios show the real rates.
func (s Sequential) Plan(w *modelgate.Window, p modelgate.Progress) modelgate.PowerPlan {
	plan := modelgate.PowerPlan{Window: p.Window.String()}
	secs := p.Elapsed.Seconds()
	if secs <= 0 || w.Canary.Requests == 0 || w.Stable.Requests == 0 {
		plan.Lines = []string{"No traffic on both versions yet: nothing to plan from."}
		return plan
	}
	plan.CanaryRate, plan.StableRate = float64(w.Canary.Requests)/secs, float64(w.Stable.Requests)/secs
	nc, np := plan.CanaryRate*p.Window.Seconds(), plan.StableRate*p.Window.Seconds()
	plan.Lines = append(plan.Lines, fmt.Sprintf("At %.2f requests/s on the canary and %.2f on production, the %s window will see about %.0f canary requests.",
		plan.CanaryRate, plan.StableRate, shortDuration(p.Window), nc))
	s.planErrors(&plan, w, nc, np, p.Window)
	s.planLatency(&plan, w, nc, np, p.Window)
	s.planPredictions(&plan, w, nc, np, p.Window)
	return plan
}

func (s Sequential) planErrors(plan *modelgate.PowerPlan, w *modelgate.Window, nc, np float64, window time.Duration) {
	x, n := float64(w.Stable.Errors), float64(w.Stable.Requests)
	pp := (x + 0.5) / (n + 1)
	se := math.Sqrt(pp*(1-pp)/nc + pp*(1-pp)/np)
	detect := s.detectableErrorRate(pp, nc, np)
	base := fmt.Sprintf("production fails about %.2f%% of requests", 100*pp)
	if w.Stable.Errors == 0 {
		base = fmt.Sprintf("production has failed none of %d requests so far", w.Stable.Requests)
	}
	ratio := ""
	if w.Stable.Errors > 0 {
		ratio = fmt.Sprintf(", %.1f× production's", detect/pp)
	}
	plan.Lines = append(plan.Lines, fmt.Sprintf("Errors: %s; a canary failing %.2f%% of its requests or more (%.2f points above production%s) is rolled back with 90%% power or more.",
		base, 100*detect, 100*(detect-pp), ratio))
	if !s.resolvable(se, s.ErrorRateMargin) {
		plan.Warnings = append(plan.Warnings, s.outOfReach("the error-rate margin of "+fmt.Sprintf("%.2f points", 100*s.ErrorRateMargin),
			fmt.Sprintf("±%.2f points", 100*se), se, s.ErrorRateMargin, nc, window, true))
	}
}

// detectableErrorRate is the canary error rate the count test rolls back
// by the end of the window with about 90% power: the fewest canary errors
// that establish harm beyond the margin when production errs at pp, and the
// rate at which nc requests reach that many nine times in ten (normal
// approximation to the binomial).
func (s Sequential) detectableErrorRate(pp, nc, np float64) float64 {
	theta0, thr, y := nc/(nc+np), math.Log(1/s.CheckAlpha()), pp*np
	harm := func(x float64) bool {
		return countEValue(x, y, theta0, s.PriorStrength) >= thr && x/nc-pp > s.ErrorRateMargin
	}
	lo, hi := pp*nc, nc
	for range 60 {
		if m := (lo + hi) / 2; harm(m) {
			hi = m
		} else {
			lo = m
		}
	}
	need := hi
	lo, hi = need/nc, 1.0
	for range 60 {
		m := (lo + hi) / 2
		if m*nc-z90*math.Sqrt(nc*m*(1-m)) >= need {
			hi = m
		} else {
			lo = m
		}
	}
	return hi
}

func (s Sequential) planLatency(plan *modelgate.PowerPlan, w *modelgate.Window, nc, np float64, window time.Duration) {
	sc, okc := distSample(w.Canary.LatencyMS)
	sp, okp := distSample(w.Stable.LatencyMS)
	if !okc || !okp {
		return
	}
	for _, spec := range s.latencySpecs() {
		qp := sp.quantile(spec.q)
		margin := spec.limit(qp) - qp
		// Production's spread stands for both arms (the canary's first
		// few values say little about its tail).
		se := quantileSE(sp, spec.q) * math.Sqrt(sp.n*(1/nc+1/np))
		if spec.name == "latency_p95" {
			lc, uc := rankWidth(sc, spec.q, nc, s.CheckAlpha()/6, s.PriorStrength)
			lp, up := rankWidth(sp, spec.q, np, s.CheckAlpha()/6, s.PriorStrength)
			detect := margin + math.Max(lc, uc) + math.Max(lp, up) + z90*se
			plan.Lines = append(plan.Lines, fmt.Sprintf("Latency: production's p95 is %.1f ms; a canary p95 slower by %.0f ms or more is rolled back with about 90%% power (the margin is %.0f ms).",
				qp, detect, margin))
		}
		if !s.resolvable(se, margin) {
			plan.Warnings = append(plan.Warnings, s.outOfReach(fmt.Sprintf("the %s margin of %.1f ms", spec.name, margin),
				fmt.Sprintf("±%.1f ms", se), se, margin, nc, window, spec.name == "latency_p95"))
		}
	}
}

// rankWidth is how far, in value, the confidence sequence of the
// q-quantile reaches below and above it at sample size n, read off x.
func rankWidth(x sample, q, n, alpha, k float64) (below, above float64) {
	rl, rh := quantileRanks(q, n, alpha, k)
	v := x.quantile(q)
	return v - x.quantile(rl), x.quantile(math.Min(rh, 1)) - v
}

func (s Sequential) planPredictions(plan *modelgate.PowerPlan, w *modelgate.Window, nc, np float64, window time.Duration) {
	st := w.Stable.Predictions
	if st.Count < 2 || len(st.Counts) > 0 {
		return
	}
	// What the window can resolve is a property of its traffic, not of this
	// canary: plan on production's spread at both arms' sizes (mirrored
	// pairs, when there are any, only do better).
	scale := math.Abs(st.Mean())
	if sd := math.Sqrt(varOf(st)); scale < 0.1*sd {
		scale = sd
	}
	if scale == 0 {
		return
	}
	se := math.Sqrt(varOf(st)*(1/nc+1/np)) / scale
	r := asympCSRadius(se*math.Sqrt(nc), nc, s.TuneRequests, s.CheckAlpha()/2)
	a := s.allowance(w.Expected)
	plan.Lines = append(plan.Lines, fmt.Sprintf("Predictions: the mean forecast may move %+.1f%% to %+.1f%% (%s); a move %.1f points beyond that range is rolled back with 90%% power or more.",
		100*a.lo, 100*a.hi, a.why, 100*(r+z90*se)))
	if !s.resolvable(se, s.PredictionTolerance) {
		plan.Warnings = append(plan.Warnings, s.outOfReach(fmt.Sprintf("the %.0f%% tolerance on the mean forecast", 100*s.PredictionTolerance),
			fmt.Sprintf("±%.1f%%", 100*se), se, s.PredictionTolerance, nc, window, true))
	}
}

// outOfReach words a margin the window cannot resolve, with the traffic
// that would resolve it. A gating figure still decides by its estimate, so
// chance can hold a good canary or promote a worse one; any other figure is
// left out at the end, so only a clear regression rolls it back.
func (s Sequential) outOfReach(what, spread string, se, margin, n float64, window time.Duration, gating bool) string {
	need := n * math.Pow(se*s.Resolution/margin, 2)
	longer := time.Duration(float64(window) * need / n).Round(time.Minute)
	then := "until then it is not judged, and only a clear regression rolls back"
	if gating {
		then = "until then chance may hold a canary within it or promote one beyond it"
	}
	return fmt.Sprintf("This window cannot resolve %s: by its end the estimate is uncertain by %s. About %.0f canary requests would (a %s window at this traffic, or a larger canary share); %s.",
		what, spread, need, shortDuration(longer), then)
}

func shortDuration(d time.Duration) string {
	s := d.String()
	for _, suf := range []string{"m0s", "h0m"} {
		if len(s) > len(suf) && s[len(s)-len(suf):] == suf {
			s = s[:len(s)-len(suf)+1]
		}
	}
	return s
}
