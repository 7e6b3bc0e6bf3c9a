package smoke

import "fmt"

// Check names. Every smoke and evaluation check reports under one of these
// (evaluation checks add the metric: "evaluation mae vs logged").
const (
	CheckStatus    = "status"      // every answer is HTTP 200
	CheckStructure = "structure"   // V1 predictions / V2 outputs as declared
	CheckFinite    = "finite"      // every prediction is a finite number
	CheckBounds    = "bounds"      // every prediction within the configured bounds
	CheckLatency   = "latency_p95" // p95 below the bound over the measured requests
)

// Check is the outcome of one check, for the report: what was expected, what
// was observed and over how many requests (or rows).
type Check struct {
	Name     string `json:"name"`
	Protocol string `json:"protocol,omitempty"` // v1 or v2
	Passed   bool   `json:"passed"`
	Expected string `json:"expected"`
	Observed string `json:"observed"`
	Checked  int    `json:"checked,omitempty"` // requests the check looked at
	Failed   int    `json:"failed,omitempty"`  // of which failed
	First    int    `json:"first_failed,omitempty"`
}

// Message is the check as one sentence naming the check, the expected and
// the observed value, e.g. `v2 structure: expected output "predict" FP64
// [1], observed output "predict" INT64 [1] (50 of 55 requests failed, first
// request 1)`.
func (c Check) Message() string {
	name := c.Name
	if c.Protocol != "" {
		name = c.Protocol + " " + name
	}
	verdict := "ok"
	if !c.Passed {
		verdict = "failed"
	}
	s := fmt.Sprintf("%s %s: expected %s, observed %s", name, verdict, c.Expected, c.Observed)
	if c.Failed > 0 && c.First > 0 {
		s += fmt.Sprintf(" (%d of %d requests failed, first request %d)", c.Failed, c.Checked, c.First)
	}
	return s
}

// tally accumulates one check over many requests; the first failure's
// observation is the one reported.
type tally struct {
	Check
}

func newTally(name, protocol, expected string) *tally {
	return &tally{Check{Name: name, Protocol: protocol, Passed: true, Expected: expected}}
}

// add records the observation of request n (1-based); "" means it passed.
func (t *tally) add(n int, failure string) {
	t.Checked++
	if failure == "" {
		return
	}
	t.Failed++
	if t.Passed {
		t.Passed, t.Observed, t.First = false, failure, n
	}
}

// done fills in the observation of a check that passed.
func (t *tally) done(ok string) Check {
	if t.Passed && t.Observed == "" {
		t.Observed = ok
	}
	return t.Check
}

// failures returns the messages of the checks that failed.
func failures(checks []Check) []string {
	var out []string
	for _, c := range checks {
		if !c.Passed {
			out = append(out, c.Message())
		}
	}
	return out
}
