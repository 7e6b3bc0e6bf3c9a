package modelgate

import (
	"fmt"
	"time"
)

// Verdict is the state of one check.
type Verdict string

const (
	VerdictPass         Verdict = "pass"
	VerdictFail         Verdict = "fail"
	VerdictContinue     Verdict = "continue"     // not decided yet; keep watching
	VerdictInconclusive Verdict = "inconclusive" // outside its limit without significance, or too little data: a person decides
	// VerdictNotJudged: the window cannot resolve this figure at the
	// traffic it had (its uncertainty exceeds the margin it must detect);
	// it is reported and does not hold the promotion. Significant harm still
	// fails it.
	VerdictNotJudged Verdict = "not_judged"
)

// CheckKind says what a check's figures are, so every view shows them alike.
type CheckKind string

const (
	// KindDifference compares a canary figure with production's (a rate,
	// a latency, an error): Canary ≤ Limit passes.
	KindDifference CheckKind = ""
	// KindShift is the canary's relative change against production (the
	// mean prediction): LimitLow ≤ Canary ≤ Limit passes; production is the
	// 0 it is measured from.
	KindShift CheckKind = "shift"
	// KindDistance is a distance between the two arms' distributions:
	// production has no figure of its own.
	KindDistance CheckKind = "distance"
)

// Decision is the judge's overall answer.
type Decision string

const (
	DecisionPromote  Decision = "promote"
	DecisionRollback Decision = "rollback"
	DecisionContinue Decision = "continue"
	DecisionHold     Decision = "hold" // a person must decide
)

// Check is one comparison of canary against production.
type Check struct {
	Name       string    `json:"name"` // e.g. "error_rate", "latency_p95"
	Kind       CheckKind `json:"kind,omitempty"`
	Canary     float64   `json:"canary"`     // canary's estimate
	Production float64   `json:"production"` // production's estimate
	Limit      float64   `json:"limit"`      // the largest acceptable canary value
	// LimitLow is the smallest acceptable value, for shift checks.
	LimitLow float64 `json:"limit_low,omitempty"`
	// Low and High bound the judged figure (the difference from production
	// for difference checks, the canary's figure otherwise) at the check's
	// level, when the judge has such bounds; always within the figure's range.
	Low     float64 `json:"low,omitempty"`
	High    float64 `json:"high,omitempty"`
	Unit    string  `json:"unit,omitempty"`
	Verdict Verdict `json:"verdict"`
	// Summary says in plain words what was measured, how big, against
	// what, and what that means; Detail adds the statistics behind it.
	Summary string `json:"summary,omitempty"`
	Detail  string `json:"detail"`
	// Alpha is the significance level the check was tested at (its share
	// of the judge's overall level), when the judge tests sequentially.
	Alpha float64 `json:"alpha,omitempty"`
	// Figures are further named figures behind the verdict (e.g. "psi",
	// "ks_d", "ks_p", "js"), for reports and progress output.
	Figures map[string]float64 `json:"figures,omitempty"`
}

// Judgement is a judge's answer for one look at the window.
type Judgement struct {
	Decision Decision `json:"decision"`
	Checks   []Check  `json:"checks"`
	// Reasons explain the decision, each starting with a plain sentence.
	Reasons []string `json:"reasons"`
	// NotJudged says what this look cannot judge and why (no predictions
	// from the metrics source, no reference profile, no actuals, too little
	// traffic for a margin).
	NotJudged []string `json:"not_judged,omitempty"`
}

// Progress tells a judge where in the canary window a look happens.
type Progress struct {
	Elapsed time.Duration // since the canary took traffic
	Window  time.Duration // the configured window (after any extension)
	Final   bool          // the window is over: continue is no longer an answer
}

// Judge compares canary and production. Implementations must be pure: the
// same window and progress give the same judgement. Implementations: judge.
type Judge interface {
	Judge(w *Window, p Progress) Judgement
}

// Planner is an optional capability of a Judge: saying, from the traffic
// of the first looks, what the window can detect (power planning).
type Planner interface {
	Plan(w *Window, p Progress) PowerPlan
}

// Reason is the text a check contributes to the reasons: its plain
// summary first, then, in parentheses, its name and the statistics.
func (c Check) Reason() string {
	switch {
	case c.Summary == "":
		return c.Name + ": " + c.Detail
	case c.Detail == "":
		return c.Summary + " (" + c.Name + ")"
	}
	return c.Summary + " (" + c.Name + ": " + c.Detail + ")"
}

// CanaryText, ProductionText and LimitText format the check's figures for
// tables, by its kind and unit, so the report, the web view and status
// agree.
func (c Check) CanaryText() string { return c.format(c.Canary) }

func (c Check) ProductionText() string {
	switch c.Kind {
	case KindDistance:
		return "—"
	case KindShift:
		return "0%"
	}
	return c.format(c.Production)
}

func (c Check) LimitText() string {
	if c.Kind == KindShift {
		return fmt.Sprintf("%+.1f%% … %+.1f%%", 100*c.LimitLow, 100*c.Limit)
	}
	return "≤ " + c.format(c.Limit)
}

func (c Check) format(v float64) string {
	switch {
	case c.Kind == KindShift:
		return fmt.Sprintf("%+.1f%%", 100*v)
	case c.Unit == "rate":
		return fmt.Sprintf("%.2f%%", 100*v)
	case c.Unit != "":
		return fmt.Sprintf("%.4g %s", v, c.Unit)
	}
	return fmt.Sprintf("%.4g", v)
}
