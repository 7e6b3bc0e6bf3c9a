package modelgate

import (
	"context"
	"encoding/json"
)

// Gate is one staging check of playbook step 3 (smoke tests, evaluation on
// ground truth). A gate that runs but finds the model wanting returns
// Passed=false; an error means the check itself could not run.
// Implementations: smoke.
type Gate interface {
	Name() string
	Check(ctx context.Context, ep Endpoint, c Candidate) (GateResult, error)
}

// Candidate is what a gate knows about the version under test.
type Candidate struct {
	Version *ModelVersion
	Dir     string             // the verified model directory
	Metrics map[string]float64 // metrics logged on its training run
}

// GateResult is a gate's answer.
type GateResult struct {
	Passed   bool     `json:"passed"`
	Summary  string   `json:"summary"`
	Failures []string `json:"failures,omitempty"`
	// Divergence is how differently the candidate predicted from
	// production on the rows the gate sent through both, when it did.
	Divergence *Divergence `json:"divergence,omitempty"`
	// Evidence is the gate's own record (its figures), kept as the gate
	// wrote it: gates are pluggable, so its shape belongs to the gate.
	Evidence json.RawMessage `json:"evidence,omitempty"`
}
