package smoke

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"time"

	"modelgate"
	"modelgate/inference"
	"modelgate/promotion"
)

// PlaybookRequest is the smoke request of the playbook.
const PlaybookRequest = `{"instances": [{"store_id": 42, "date": "2025-01-15", "promo": 1}]}`

// Requests is the smoke-test gate.
type Requests struct {
	Bodies []json.RawMessage // V1 request bodies, sent in turn; default PlaybookRequest
	Count  int               // measured requests; default 50
	Warmup int               // unmeasured requests first; default 5
	P95Max time.Duration     // latency bound; default 200ms (playbook)
	Client inference.Client
}

var _ promotion.Gate = (*Requests)(nil)

// Name implements promotion.Gate.
func (r *Requests) Name() string { return "smoke" }

type smokeEvidence struct {
	Requests int     `json:"requests"`
	P50MS    float64 `json:"p50_ms"`
	P95MS    float64 `json:"p95_ms"`
	MaxMS    float64 `json:"max_ms"`
	Example  string  `json:"example_answer"`
}

// Check implements promotion.Gate.
func (r *Requests) Check(ctx context.Context, ep modelgate.Endpoint, _ promotion.Candidate) (promotion.GateResult, error) {
	bodies := r.Bodies
	if len(bodies) == 0 {
		bodies = []json.RawMessage{json.RawMessage(PlaybookRequest)}
	}
	count, warm, bound := orDefault(r.Count, 50), orDefault(r.Warmup, 5), r.P95Max
	if bound == 0 {
		bound = 200 * time.Millisecond
	}
	var lat []float64
	var failures []string
	ev := smokeEvidence{}
	for i := 0; i < warm+count; i++ {
		body := bodies[i%len(bodies)]
		res, err := r.Client.PredictRaw(ctx, ep, body)
		if err != nil {
			return promotion.GateResult{}, err
		}
		if f := checkAnswer(body, res); f != "" && len(failures) < 5 {
			failures = append(failures, fmt.Sprintf("request %d: %s", i+1, f))
		}
		if i >= warm {
			lat = append(lat, float64(res.Latency)/float64(time.Millisecond))
		}
		ev.Example = string(res.Body)
	}
	ev.Requests, ev.P50MS, ev.P95MS, ev.MaxMS = len(lat), quantile(lat, 0.5), quantile(lat, 0.95), quantile(lat, 1)
	boundMS := float64(bound) / float64(time.Millisecond)
	if ev.P95MS >= boundMS {
		failures = append(failures, fmt.Sprintf("latency p95 is %.1fms over %d requests, expected below %.0fms", ev.P95MS, len(lat), boundMS))
	}
	summary := fmt.Sprintf("%d requests answered, p95 %.2fms (bound %.0fms)", len(lat), ev.P95MS, boundMS)
	return promotion.GateResult{Passed: len(failures) == 0, Summary: summary, Failures: failures, Evidence: ev}, nil
}

// checkAnswer returns what is wrong with one answer, or "".
func checkAnswer(body []byte, res *inference.Result) string {
	if res.Status != 200 {
		return fmt.Sprintf("status %d, expected 200 (answer %.200s)", res.Status, res.Body)
	}
	var req struct {
		Instances []json.RawMessage `json:"instances"`
	}
	_ = json.Unmarshal(body, &req)
	if len(res.Predictions) != len(req.Instances) {
		return fmt.Sprintf("%d predictions for %d instances, expected one per instance", len(res.Predictions), len(req.Instances))
	}
	for i, p := range res.Predictions {
		if math.IsNaN(p) || math.IsInf(p, 0) {
			return fmt.Sprintf("prediction %d is %v, expected a finite number", i, p)
		}
	}
	return ""
}

func orDefault(v, d int) int {
	if v <= 0 {
		return d
	}
	return v
}

// quantile returns the q-quantile (nearest rank) of xs.
func quantile(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	i := int(math.Ceil(q*float64(len(s)))) - 1
	return s[max(0, min(i, len(s)-1))]
}
