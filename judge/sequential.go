package judge

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/modelgate/modelgate"
)

// Rule is how the end of the window decides between promote and hold.
type Rule string

const (
	// RulePlaybook (the default) rolls back on significant harm at any
	// look; at the end it promotes when every figure is within its
	// threshold, and holds only when a figure is outside its threshold
	// without significance. A secondary figure this window cannot resolve
	// (latency p50/p99, the distribution of forecasts, input drift, the KPI:
	// its uncertainty is larger than half the margin it must detect) is
	// reported as not judged instead of holding every canary at low
	// traffic; the playbook's own criteria (error rate, p95, mean forecast)
	// always decide by their estimate.
	RulePlaybook Rule = "playbook"
	// RuleStrict promotes only when the bounds prove every figure within
	// its threshold ("prove no harm"); anything else at the end holds. Safer,
	// but at low traffic it holds most healthy canaries (see judgesim).
	RuleStrict Rule = "strict"
)

// Sequential judges canary against production with anytime-valid
// statistics: every check may be looked at as often as the engine likes
// (each look recomputes it from the window's cumulative figures), and a
// rollback is declared only once harm is established at the check's level.
//
// The overall false-rollback rate is controlled by Bonferroni over the
// check families: error rate, latency (p50, p95 and p99 of both arms
// share one family), predictions (mean shift and distribution share one),
// feature drift (its share split again over the features) and the
// business KPI each get Alpha/5, whether or not the window carries their
// data, so P(any false rollback over the whole window) ≤ Alpha under any
// dependence between checks. Its zero value is not useful; start from
// DefaultSequential.
type Sequential struct {
	// Alpha bounds the probability that a canary no worse than production
	// is rolled back at any look of the window. Default 0.05.
	Alpha float64
	// Rule decides the end of the window. Default RulePlaybook.
	Rule Rule
	// Resolution is how many standard errors a margin must span for a
	// secondary figure to be judged by its estimate at the end of the
	// window. Default 2: a canary no worse than production then lands beyond
	// the margin by chance about 2% of the time.
	Resolution float64
	// Caution is how many standard errors an estimate must keep from its
	// threshold at the end of the window to count as within it: an estimate
	// right at the threshold is as likely beyond it as within, so it holds.
	// Default 0.15. At 10 requests/s (about 1,800 canary requests in 30
	// minutes) no rule separates a canary as good as production from one
	// with twice its 1% error rate much better than 96% against 4%; 0.15
	// puts the error-rate cut near that balance (judgesim, 2,000 runs:
	// 96.2% of identical canaries promoted, 4.0% of doubled ones).
	Caution float64

	// ErrorRateMargin is how far, in absolute rate, the canary's error rate
	// may exceed production's. Playbook: 0.005 (0.5 percentage points).
	ErrorRateMargin float64
	// StrictErrorMargin rolls back only when the confidence sequence of
	// the difference lies wholly above the margin (slower). Default false:
	// roll back as soon as the count test establishes that the canary errs
	// more than production and the estimated difference exceeds the margin.
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

	// PredictionTolerance is how far the canary's mean prediction may move
	// from production's, relatively, when nothing in staging justifies a
	// move: the playbook's "within 5%". Default 0.05. When ground truth in
	// staging justified a shift, the allowed range stretches to it.
	PredictionTolerance float64
	// PredictionMargin is the largest Kolmogorov–Smirnov distance between
	// canary and production predictions (L∞ distance of class shares for
	// categorical outputs) when nothing in staging justifies more; an
	// ordinary retrain stays below it. Default 0.15.
	PredictionMargin float64
	// ExpectationSlack is added to the distance staging measured (and
	// ground truth justified), because live inputs differ from staging's.
	// Default 0.1.
	ExpectationSlack float64
	// FeatureMargin is the canary-vs-production distance of an input
	// feature beyond which a new drift alert counts as the canary's doing.
	// Default 0.025.
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
	// where the confidence sequences are tightest. Defaults 100 and 10000.
	PriorStrength, TuneRequests float64
}

var (
	_ modelgate.Judge   = Sequential{}
	_ modelgate.Planner = Sequential{}
)

// families is the number of check families sharing Alpha.
const families = 5

// DefaultSequential returns the playbook's margins with α = 0.05.
func DefaultSequential() Sequential {
	return Sequential{
		Alpha:               0.05,
		Rule:                RulePlaybook,
		Resolution:          2.5,
		Caution:             0.15,
		ErrorRateMargin:     0.005,
		LatencyP95Margin:    50 * time.Millisecond,
		RelativeTolerance:   0.05,
		LatencyFloor:        10 * time.Millisecond,
		SketchAccuracy:      0.01,
		PredictionTolerance: 0.05,
		PredictionMargin:    0.15,
		ExpectationSlack:    0.1,
		FeatureMargin:       0.025,
		PSIAlert:            0.2,
		WassersteinAlert:    0.1,
		LInfAlert:           0.1,
		DriftBins:           10,
		MinRequests:         200,
		MinDriftSamples:     1000,
		KPITolerance:        0.05,
		MinActuals:          200,
		PriorStrength:       100,
		TuneRequests:        10000,
	}
}

// CheckAlpha is the level each check family is tested at: Alpha/5.
func (s Sequential) CheckAlpha() float64 { return s.Alpha / families }

// Judge implements modelgate.Judge.
func (s Sequential) Judge(w *modelgate.Window, p modelgate.Progress) modelgate.Judgement {
	var checks []modelgate.Check
	var notes []string
	add := func(cs []modelgate.Check, more ...string) {
		checks = append(checks, cs...)
		for _, n := range more {
			if n != "" {
				notes = append(notes, n)
			}
		}
	}
	add([]modelgate.Check{s.errorRate(w, p)})
	add(s.latency(w, p))
	add(s.predictions(w, p))
	add(s.features(w, p))
	add(s.kpi(w, p))
	for i := range checks {
		finite(&checks[i])
		if checks[i].Verdict == modelgate.VerdictNotJudged {
			notes = append(notes, checks[i].Summary)
		}
	}
	d := decide(checks, p, s.EarlyPromotion)
	return modelgate.Judgement{Decision: d, Checks: checks, Reasons: s.reasons(checks, w, d, notes), NotJudged: notes}
}

// finding is what one check established at one look.
type finding struct {
	enough     bool // the check has the data it needs at all
	optional   bool // without enough data at the end it is left out (not judged), not held
	harm       bool // harm established at the check's level: roll back
	proven     bool // the bounds lie within the threshold
	within     bool // the estimate lies within the threshold
	resolvable bool // the estimate's uncertainty is small against the margin it must detect
	// gating marks the playbook's own criteria (error rate, p95 latency,
	// the mean forecast): their estimate always decides at the end, however
	// uncertain, so a canary is never promoted past them unseen.
	gating bool
}

// verdict turns a finding into the check's verdict under the rule.
func (s Sequential) verdict(f finding, p modelgate.Progress) modelgate.Verdict {
	switch {
	case !f.enough && p.Final && f.optional:
		return modelgate.VerdictNotJudged
	case !f.enough && p.Final:
		return modelgate.VerdictInconclusive
	case !f.enough:
		return modelgate.VerdictContinue
	case f.harm:
		return modelgate.VerdictFail
	case f.proven:
		return modelgate.VerdictPass
	case !p.Final:
		return modelgate.VerdictContinue
	case s.Rule == RuleStrict:
		return modelgate.VerdictInconclusive
	case f.within:
		return modelgate.VerdictPass
	case !f.resolvable && !f.gating:
		return modelgate.VerdictNotJudged
	}
	return modelgate.VerdictInconclusive
}

// resolvable reports whether a margin spans Resolution standard errors.
func (s Sequential) resolvable(se, margin float64) bool {
	return !math.IsNaN(se) && se*s.Resolution <= margin
}

// below reports whether an estimate lies below limit with Caution
// standard errors to spare.
func (s Sequential) below(estimate, se, limit float64) bool {
	if math.IsNaN(se) {
		se = 0
	}
	return estimate+s.Caution*se <= limit
}

// finite keeps a check encodable as JSON: an undefined figure (an empty
// arm) becomes zero, and bounds with no finite end are left out.
func finite(c *modelgate.Check) {
	for _, f := range []*float64{&c.Canary, &c.Production, &c.Limit, &c.LimitLow} {
		if math.IsNaN(*f) || math.IsInf(*f, 0) {
			*f = 0
		}
	}
	if bad(c.Low) || bad(c.High) {
		c.Low, c.High = 0, 0
	}
	for k, v := range c.Figures {
		if bad(v) {
			delete(c.Figures, k)
		}
	}
}

func bad(v float64) bool { return math.IsNaN(v) || math.IsInf(v, 0) }

// reasons explain the decision, plain sentences first: what failed, else
// what holds, else every check; then what is not judged, and the level the
// tests held.
func (s Sequential) reasons(checks []modelgate.Check, w *modelgate.Window, d modelgate.Decision, notJudged []string) []string {
	var failed, open, all []string
	for _, c := range checks {
		if c.Verdict == modelgate.VerdictNotJudged {
			continue
		}
		all = append(all, c.Reason())
		switch c.Verdict {
		case modelgate.VerdictFail:
			failed = append(failed, c.Reason())
		case modelgate.VerdictInconclusive:
			open = append(open, c.Reason())
		}
	}
	var out []string
	switch {
	case len(failed) > 0:
		out = failed
	case w.Canary.Requests < s.MinRequests || w.Stable.Requests < s.MinRequests:
		out = append([]string{fmt.Sprintf("Not enough traffic to judge yet: the canary answered %d requests and production %d; each needs %d.",
			w.Canary.Requests, w.Stable.Requests, s.MinRequests)}, open...)
	case len(open) > 0:
		out = open
	default:
		out = all
	}
	out = append(out, notJudged...)
	return append(out, fmt.Sprintf("Decision %s; the tests hold at level α = %g overall (%d check families at α/%d = %g each).",
		d, s.Alpha, families, families, s.CheckAlpha()))
}

// level formats a confidence level 1−alpha, e.g. "99.5%".
func level(alpha float64) string {
	return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.2f", 100*(1-alpha)), "0"), ".") + "%"
}
