package smoke

import (
	"context"
	"encoding/json"
	"fmt"
	"math"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/inference"
)

// Recent is the gate that sends production's own recent requests through
// the candidate (in staging) and through production and records how
// differently the two predict on them: what the canary will show on live
// traffic. It never fails a promotion — without ground truth a divergence
// is not wrong in itself, and the canary judges it — but it says so in
// plain words when the candidate moves further than the tolerance, so a
// person sees the likely outcome before production traffic moves.
type Recent struct {
	Sampler    modelgate.RequestSampler // nil: the platform keeps no recent requests
	Production ProductionFinder
	Rows       int     // requests to score; default 500
	Segment    string  // instance field to split the divergence by; "" for none
	Tolerance  float64 // mean shift worth a warning; default 0.05
	BatchSize  int     // instances per request; default 100
	Protocol   string  // ProtocolV1 (default) or ProtocolV2
	Client     inference.Client
}

var _ modelgate.Gate = (*Recent)(nil)

// Name implements modelgate.Gate.
func (r *Recent) Name() string { return "recent_requests" }

// RecentEvidence is the recent-requests gate's evidence.
type RecentEvidence struct {
	Rows              int    `json:"rows"`
	ProductionVersion string `json:"production_version,omitempty"`
	Skipped           string `json:"skipped,omitempty"` // why nothing was compared
}

// Check implements modelgate.Gate.
func (r *Recent) Check(ctx context.Context, ep modelgate.Endpoint, c modelgate.Candidate) (modelgate.GateResult, error) {
	rows, prodEP, version, why, err := r.inputs(ctx, c)
	if err != nil || why != "" {
		res, rerr := result(true, "not compared: "+why, nil, RecentEvidence{Skipped: why})
		return res, firstErr(err, rerr)
	}
	p := &Evaluation{BatchSize: r.BatchSize, Protocol: r.Protocol, Client: r.Client}
	cand, err := p.PredictAll(ctx, ep, rows)
	if err != nil {
		return modelgate.GateResult{}, fmt.Errorf("score recent requests through the candidate: %w", err)
	}
	prod, err := p.PredictAll(ctx, prodEP, rows)
	if err != nil {
		return modelgate.GateResult{}, fmt.Errorf("score recent requests through production version %s: %w", version, err)
	}
	div := divergence("recent_requests", cand, prod, r.segments(rows))
	res, err := result(true, r.summary(div), nil, RecentEvidence{Rows: len(rows), ProductionVersion: version})
	res.Divergence = div
	return res, err
}

// inputs fetches the recent requests and production's endpoint, or says
// why there is nothing to compare.
func (r *Recent) inputs(ctx context.Context, c modelgate.Candidate) (rows []any, ep modelgate.Endpoint, version, why string, err error) {
	if r.Sampler == nil || r.Production == nil || c.Version == nil {
		return nil, ep, "", "the platform keeps no recent production requests", nil
	}
	split, err := r.Production.Traffic(ctx, c.Version.Name)
	if err != nil {
		return nil, ep, "", "", fmt.Errorf("read production's traffic split: %w", err)
	}
	if split.Stable == "" || split.Stable == c.Version.Version {
		return nil, ep, "", "production serves no other version", nil
	}
	raw, err := r.Sampler.RecentRequests(ctx, c.Version.Name, orDefault(r.Rows, 500))
	if err != nil {
		return nil, ep, "", "", fmt.Errorf("read production's recent requests: %w", err)
	}
	if len(raw) == 0 {
		return nil, ep, "", "production has served no requests yet", nil
	}
	if rows, err = decodeInstances(raw); err != nil {
		return nil, ep, "", "", err
	}
	ep, err = r.Production.Production(ctx, c.Version.Name)
	if err != nil {
		return nil, ep, "", "", fmt.Errorf("find production's endpoint: %w", err)
	}
	return rows, ep, split.Stable, "", nil
}

func decodeInstances(raw []json.RawMessage) ([]any, error) {
	rows := make([]any, len(raw))
	for i, b := range raw {
		if err := json.Unmarshal(b, &rows[i]); err != nil {
			return nil, modelgate.Errorf(modelgate.EINVALID, "recent request %d is not JSON: %v", i+1, err)
		}
	}
	return rows, nil
}

// segments reads the segment field of each row; nil without one.
func (r *Recent) segments(rows []any) []string {
	if r.Segment == "" {
		return nil
	}
	out := make([]string, len(rows))
	for i, row := range rows {
		m, _ := row.(map[string]any)
		out[i] = segmentKey(m[r.Segment])
	}
	return out
}

func (r *Recent) summary(d *modelgate.Divergence) string {
	s := divergenceWords(d, "recent production requests")
	if tol := orDefaultF(r.Tolerance, 0.05); math.Abs(d.MeanShift) > tol {
		s += fmt.Sprintf(". That is more than the %.0f%% the canary allows unless ground truth justifies it: expect it to be rolled back", 100*tol)
	}
	return s
}

func orDefaultF(v, d float64) float64 {
	if v == 0 {
		return d
	}
	return v
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
