package smoke

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/inference"
	"github.com/modelgate/modelgate/wire"
)

// PlaybookRequest is the smoke request of the playbook.
const PlaybookRequest = `{"instances": [{"store_id": 42, "date": "2025-01-15", "promo": 1}]}`

// Protocols a gate can speak to the endpoint.
const (
	ProtocolV1 = "v1" // KServe V1: POST /v1/models/{name}:predict
	ProtocolV2 = "v2" // Open Inference Protocol: POST /v2/models/{name}/infer
)

// Requests is the smoke-test gate: every request is sent Warmup+Count times
// in turn over each protocol, and five checks are reported per protocol:
// status, structure, finite, bounds and latency_p95.
type Requests struct {
	// Bodies are V1 request bodies, sent in turn; over V2 their instances
	// go as tensors (wire.TensorsFromInstances). Default: generated
	// from the model's input example (Spec), else PlaybookRequest.
	Bodies []json.RawMessage
	// Protocols to test; default [v1].
	Protocols []string
	Count     int           // measured requests per protocol; default 50
	Warmup    int           // unmeasured requests first; default 5
	P95Max    time.Duration // latency bound (p95 must be below it); default 200ms (playbook)
	// Min and Max bound every prediction; nil means unbounded.
	Min, Max *float64
	// Spec reads the candidate's signature and input example; default
	// ReadExample (input example only).
	Spec   SpecReader
	Client inference.Client
}

var _ modelgate.Gate = (*Requests)(nil)

// Name implements modelgate.Gate.
func (r *Requests) Name() string { return "smoke" }

// RequestsEvidence is the smoke gate's evidence.
type RequestsEvidence struct {
	Checks    []Check                   `json:"checks"`
	Latency   map[string]LatencySummary `json:"latency_ms"`          // per protocol
	Generated bool                      `json:"generated,omitempty"` // requests came from the input example
	Example   string                    `json:"example_answer,omitempty"`
}

// LatencySummary is the measured latency of one protocol, in milliseconds.
type LatencySummary struct {
	Requests int     `json:"requests"`
	P50      float64 `json:"p50"`
	P95      float64 `json:"p95"`
	Max      float64 `json:"max"`
}

// Check implements modelgate.Gate.
func (r *Requests) Check(ctx context.Context, ep modelgate.Endpoint, c modelgate.Candidate) (modelgate.GateResult, error) {
	bodies, generated, spec, err := r.bodies(c.Dir)
	if err != nil {
		return modelgate.GateResult{}, err
	}
	ev := RequestsEvidence{Latency: map[string]LatencySummary{}, Generated: generated}
	for _, proto := range r.protocols() {
		run := &smokeRun{g: r, ep: ep, proto: proto, spec: spec}
		checks, lat, example, err := run.do(ctx, bodies)
		if err != nil {
			return modelgate.GateResult{}, err
		}
		ev.Checks, ev.Latency[proto], ev.Example = append(ev.Checks, checks...), lat, example
	}
	fails := failures(ev.Checks)
	var parts []string
	for _, proto := range r.protocols() {
		l := ev.Latency[proto]
		parts = append(parts, fmt.Sprintf("%s: %d requests, p95 %.2fms", proto, l.Requests, l.P95))
	}
	summary := fmt.Sprintf("%d of %d checks passed (%s; bound %s)", len(ev.Checks)-len(fails), len(ev.Checks), strings.Join(parts, ", "), r.bound())
	return result(len(fails) == 0, summary, fails, ev)
}

func (r *Requests) protocols() []string {
	if len(r.Protocols) == 0 {
		return []string{ProtocolV1}
	}
	return r.Protocols
}

func (r *Requests) bound() time.Duration {
	if r.P95Max == 0 {
		return 200 * time.Millisecond
	}
	return r.P95Max
}

// bodies returns the configured bodies, else one generated from the input
// example, else the playbook's request; and the spec, when one was read.
func (r *Requests) bodies(dir string) ([]json.RawMessage, bool, *ModelSpec, error) {
	var spec *ModelSpec
	if dir != "" {
		read := r.Spec
		if read == nil {
			read = ReadExample
		}
		var err error
		if spec, err = read(dir); err != nil {
			return nil, false, nil, fmt.Errorf("read the model's signature and input example: %w", err)
		}
	}
	if len(r.Bodies) > 0 {
		return r.Bodies, false, spec, nil
	}
	b, ok, err := exampleBody(spec)
	if err != nil {
		return nil, false, nil, err
	}
	if ok {
		return []json.RawMessage{b}, true, spec, nil
	}
	return []json.RawMessage{json.RawMessage(PlaybookRequest)}, false, spec, nil
}

// smokeRun is one protocol's series of requests.
type smokeRun struct {
	g     *Requests
	ep    modelgate.Endpoint
	proto string
	spec  *ModelSpec
	want  []outputSpec // V2 only
}

// answer is one request's outcome, protocol-neutral.
type answer struct {
	status  int
	body    []byte
	latency time.Duration
	preds   []float64
	shape   string // "" when the structure is right; else what was observed
}

func (s *smokeRun) do(ctx context.Context, bodies []json.RawMessage) ([]Check, LatencySummary, string, error) {
	reqs, n, err := s.prepare(ctx, bodies)
	if err != nil {
		return nil, LatencySummary{}, "", err
	}
	status := newTally(CheckStatus, s.proto, "HTTP 200")
	structure := newTally(CheckStructure, s.proto, s.structureExpected())
	finite := newTally(CheckFinite, s.proto, "finite numbers")
	bounds := newTally(CheckBounds, s.proto, s.boundsExpected())
	count, warm := orDefault(s.g.Count, 50), max(s.g.Warmup, 0)
	if s.g.Warmup == 0 {
		warm = 5
	}
	var lat []float64
	example := ""
	for i := 0; i < warm+count; i++ {
		k := i % len(reqs)
		a, err := s.send(ctx, reqs[k], n[k])
		if err != nil {
			return nil, LatencySummary{}, "", err
		}
		if i >= warm {
			lat = append(lat, float64(a.latency)/float64(time.Millisecond))
		}
		example = string(a.body)
		if a.status != 200 {
			status.add(i+1, fmt.Sprintf("HTTP %d (answer %.200s)", a.status, a.body))
			continue
		}
		status.add(i+1, "")
		structure.add(i+1, a.shape)
		if a.shape != "" {
			continue
		}
		finite.add(i+1, nonFinite(a.preds))
		bounds.add(i+1, s.outOfBounds(a.preds))
	}
	ls := LatencySummary{Requests: len(lat), P50: quantile(lat, 0.5), P95: quantile(lat, 0.95), Max: quantile(lat, 1)}
	checks := []Check{
		status.done(fmt.Sprintf("HTTP 200 for all %d requests", warm+count)),
		structure.done("as expected"), finite.done("all finite"), bounds.done("all within bounds"),
		s.latencyCheck(ls, warm),
	}
	return checks, ls, example, nil
}

func (s *smokeRun) latencyCheck(l LatencySummary, warm int) Check {
	boundMS := float64(s.g.bound()) / float64(time.Millisecond)
	return Check{
		Name: CheckLatency, Protocol: s.proto, Passed: l.P95 < boundMS, Checked: l.Requests,
		Expected: fmt.Sprintf("p95 below %s over %d requests after %d warm-up", s.g.bound(), l.Requests, warm),
		Observed: fmt.Sprintf("p95 %.1fms (p50 %.1fms, max %.1fms)", l.P95, l.P50, l.Max),
	}
}

// prepare returns the request bodies in the run's protocol and the number of
// instances of each; for V2 it also reads what outputs to expect.
func (s *smokeRun) prepare(ctx context.Context, bodies []json.RawMessage) ([][]byte, []int, error) {
	reqs, n := make([][]byte, len(bodies)), make([]int, len(bodies))
	for i, b := range bodies {
		var req struct {
			Instances []any `json:"instances"`
		}
		if err := json.Unmarshal(b, &req); err != nil {
			return nil, nil, modelgate.Errorf(modelgate.EINVALID, "smoke request %d is not a V1 body: %v", i+1, err)
		}
		reqs[i], n[i] = b, len(req.Instances)
		if s.proto != ProtocolV2 {
			continue
		}
		tensors, err := wire.TensorsFromInstances(req.Instances)
		if err != nil {
			return nil, nil, fmt.Errorf("smoke request %d as V2: %w", i+1, err)
		}
		if reqs[i], err = json.Marshal(wire.V2Request{ID: fmt.Sprintf("smoke-%d", i+1), Inputs: tensors}); err != nil {
			return nil, nil, err
		}
	}
	switch s.proto {
	case ProtocolV1:
	case ProtocolV2:
		want, err := s.expectedOutputs(ctx)
		if err != nil {
			return nil, nil, err
		}
		s.want = want
	default:
		return nil, nil, modelgate.Errorf(modelgate.EINVALID, "smoke protocol %q: expected v1 or v2", s.proto)
	}
	return reqs, n, nil
}

// send posts one request and checks its structure.
func (s *smokeRun) send(ctx context.Context, body []byte, n int) (answer, error) {
	if s.proto == ProtocolV2 {
		res, err := s.g.Client.InferRaw(ctx, s.ep, body)
		if res == nil {
			return answer{}, err
		}
		a := answer{status: res.Status, body: res.Body, latency: res.Latency, preds: res.Predictions}
		if res.Status == 200 {
			a.shape = v2Structure(res, err, s.want, n)
		}
		return a, nil
	}
	res, err := s.g.Client.PredictRaw(ctx, s.ep, body)
	if res == nil {
		return answer{}, err
	}
	a := answer{status: res.Status, body: res.Body, latency: res.Latency, preds: res.Predictions}
	switch {
	case res.Status != 200:
	case err != nil:
		a.shape = modelgate.ErrorMessage(err)
	case len(res.Predictions) != n:
		a.shape = fmt.Sprintf("%d predictions for %d instances", len(res.Predictions), n)
	}
	return a, nil
}

func (s *smokeRun) structureExpected() string {
	if s.proto != ProtocolV2 {
		return `"predictions": one number per instance`
	}
	parts := make([]string, len(s.want))
	for i, w := range s.want {
		parts[i] = w.String()
	}
	return "outputs " + strings.Join(parts, ", ") + " with one value per instance"
}

func (s *smokeRun) boundsExpected() string {
	lo, hi := "-∞", "+∞"
	if s.g.Min != nil {
		lo = fmt.Sprint(*s.g.Min)
	}
	if s.g.Max != nil {
		hi = fmt.Sprint(*s.g.Max)
	}
	return fmt.Sprintf("predictions within [%s, %s]", lo, hi)
}

func (s *smokeRun) outOfBounds(preds []float64) string {
	for i, p := range preds {
		if (s.g.Min != nil && p < *s.g.Min) || (s.g.Max != nil && p > *s.g.Max) {
			return fmt.Sprintf("prediction %d is %v", i, p)
		}
	}
	return ""
}

func nonFinite(preds []float64) string {
	for i, p := range preds {
		if math.IsNaN(p) || math.IsInf(p, 0) {
			return fmt.Sprintf("prediction %d is %v", i, p)
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
