package smoke

import (
	"encoding/json"
	"fmt"

	"github.com/modelgate/modelgate"
)

// result packages a gate's answer with its evidence encoded, as the
// promotion records it.
func result(passed bool, summary string, failures []string, ev any) (modelgate.GateResult, error) {
	b, err := json.Marshal(ev)
	if err != nil {
		return modelgate.GateResult{}, fmt.Errorf("encode gate evidence: %w", err)
	}
	return modelgate.GateResult{Passed: passed, Summary: summary, Failures: failures, Evidence: b}, nil
}

// EvaluationOf reads the evaluation gate's evidence from its result.
func EvaluationOf(r modelgate.GateResult) (EvaluationEvidence, error) {
	var ev EvaluationEvidence
	return ev, decodeEvidence(r, &ev)
}

// RequestsOf reads the smoke-request gate's evidence from its result.
func RequestsOf(r modelgate.GateResult) (RequestsEvidence, error) {
	var ev RequestsEvidence
	return ev, decodeEvidence(r, &ev)
}

func decodeEvidence(r modelgate.GateResult, v any) error {
	if err := json.Unmarshal(r.Evidence, v); err != nil {
		return modelgate.Errorf(modelgate.EINVALID, "gate evidence does not read as %T: %v", v, err)
	}
	return nil
}
