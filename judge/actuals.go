package judge

import (
	"math"

	"github.com/modelgate/modelgate"
)

// PredictionRecord is one logged prediction: which version answered which
// request, and what it predicted.
type PredictionRecord struct {
	RequestID string  `json:"request_id"`
	Version   string  `json:"version"`
	Value     float64 `json:"value"`
}

// Actual is the observed outcome of a request, posted later by request id.
type Actual struct {
	RequestID string  `json:"request_id"`
	Value     float64 `json:"value"`
}

// JoinActuals joins actuals to predictions by request id and returns each
// version's accuracy, plus the number of actuals that matched no
// prediction. A request id with several actuals counts the last one; a
// request answered by several rows (a batch) counts each row whose record
// carries that id. Non-finite values are skipped. It is pure: the caller
// decides which predictions and actuals belong to the window.
func JoinActuals(predictions []PredictionRecord, actuals []Actual) (map[string]modelgate.Accuracy, int) {
	byID := make(map[string]float64, len(actuals))
	for _, a := range actuals {
		if !math.IsNaN(a.Value) && !math.IsInf(a.Value, 0) {
			byID[a.RequestID] = a.Value
		}
	}
	out := map[string]modelgate.Accuracy{}
	matched := map[string]bool{}
	for _, p := range predictions {
		y, ok := byID[p.RequestID]
		if !ok || math.IsNaN(p.Value) || math.IsInf(p.Value, 0) {
			continue
		}
		matched[p.RequestID] = true
		acc := out[p.Version]
		acc.Add(p.Value, y)
		out[p.Version] = acc
	}
	return out, len(byID) - len(matched)
}
