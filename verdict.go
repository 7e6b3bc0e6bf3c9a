package modelgate

import "time"

// Verdict is the state of one check.
type Verdict string

const (
	VerdictPass         Verdict = "pass"
	VerdictFail         Verdict = "fail"
	VerdictContinue     Verdict = "continue"     // not decided yet; keep watching
	VerdictInconclusive Verdict = "inconclusive" // too little data to say
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
	Name       string  `json:"name"`          // e.g. "error_rate", "latency_p95"
	Canary     float64 `json:"canary"`        // canary's estimate
	Production float64 `json:"production"`    // production's estimate
	Limit      float64 `json:"limit"`         // the largest acceptable canary value
	Low        float64 `json:"low,omitempty"` // confidence interval of the difference, when the judge has one
	High       float64 `json:"high,omitempty"`
	Unit       string  `json:"unit,omitempty"`
	Verdict    Verdict `json:"verdict"`
	Detail     string  `json:"detail"` // one readable sentence
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
	Reasons  []string `json:"reasons"`
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
