package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/wire"
)

// A request to a revision served by an upstream of its protocol is passed
// through: the client's body goes to the upstream unchanged. A V1 answer
// comes back unchanged, once checked to hold one finite number per
// instance; a V2 answer is the gateway's own (its model name and version),
// its request decoded and checked as readV2 does. The gateway only splits the instances into raw JSON values
// (to count them against MaxInstances and keep recent requests) and
// decodes them into Go values where something needs them: the input
// policy, the Features model, a mirror. That keeps measurement (requests,
// errors, latency, predictions and, with a Features model, features)
// exactly as on the translating path at a fraction of its cost.

// rawRequest is a passed-through request.
type rawRequest struct {
	body      []byte
	raw       []json.RawMessage // a V1 body's instances, slices of body
	instances []any             // raw decoded, once something needed them
}

// forwarder forwards one protocol's request through u: the checked
// request, its answer and, when the upstream's answer goes back as it is,
// its bytes.
// ctx is r's, ending at the request's deadline.
type forwarder func(s *Server, ctx context.Context, name string, w http.ResponseWriter, r *http.Request, t target, u *Upstream) (*rawRequest, answer, []byte)

// passThroughOf returns the upstream of t and how to forward r to it when
// r speaks the upstream's protocol.
func passThroughOf(t target, r *http.Request) (*Upstream, forwarder, bool) {
	u, ok := t.rev.model.(*Upstream)
	switch {
	case !ok:
		return nil, nil, false
	case u.spec.Protocol == UpstreamV1 && strings.HasSuffix(r.URL.Path, ":predict"):
		return u, (*Server).forwardV1, true
	case u.spec.Protocol == UpstreamV2 && strings.HasSuffix(r.URL.Path, "/infer"):
		return u, (*Server).forwardV2, true
	}
	return nil, nil, false
}

// servePassThrough answers r through u and measures it as servePrediction
// does: the observation is recorded before the answer is written, recent
// requests and mirrors after.
func (s *Server) servePassThrough(ctx context.Context, name string, w http.ResponseWriter, r *http.Request, t target, u *Upstream, fwd forwarder, start time.Time, id string) {
	req, a, answer := fwd(s, ctx, name, w, r, t, u)
	t.stats.record(observation{status: a.status, latency: s.opts.Now().Sub(start), rows: a.rows, predictions: a.preds})
	s.recordPrediction(name, t, id, a)
	if a.status >= 500 {
		s.opts.Logger.Warn("prediction failed", "model", name, "version", t.rev.dep.Version, "status", a.status, "error", a.err)
	}
	if answer != nil {
		writeRaw(w, answer)
	} else {
		writeJSON(w, a.status, a.body)
	}
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
	if a.status != http.StatusOK || t.stats == nil {
		return
	}
	if req.raw != nil {
		s.recordRecentRaw(name, req.raw)
	} else {
		s.recordRecent(name, req.instances)
	}
	if t.mirror != nil {
		if instances, err := req.decoded(); err == nil {
			s.startMirror(mirrorJob{model: name, canary: t.mirror, stats: t.mirrorStats, instances: instances, stable: a.preds})
		}
	}
}

// forwardV1 reads and checks a V1 request, forwards its body and returns
// the upstream's answer as it is.
func (s *Server) forwardV1(ctx context.Context, _ string, w http.ResponseWriter, r *http.Request, t target, u *Upstream) (*rawRequest, answer, []byte) {
	req, err := s.readRawV1(w, r)
	if err == nil && t.rev.inputs != nil {
		err = req.check(t.rev.inputs)
	}
	if err != nil {
		return req, failed(err), nil
	}
	_, body, a := s.upstreamAnswer(ctx, u, req)
	if a.status != http.StatusOK {
		return req, a, nil
	}
	return req, a, body
}

// forwardV2 reads and checks a V2 request as readV2 does, forwards its
// body and answers with the gateway's own V2 answer, which names the
// gateway's model and version.
func (s *Server) forwardV2(ctx context.Context, name string, w http.ResponseWriter, r *http.Request, t target, u *Upstream) (*rawRequest, answer, []byte) {
	req, id, err := s.readRawV2(w, r, t)
	if err != nil {
		return req, failed(err), nil
	}
	preds, _, a := s.upstreamAnswer(ctx, u, req)
	if a.status == http.StatusOK {
		a.body = wire.V2Response{ModelName: name, ModelVersion: t.rev.dep.Version, ID: id, Outputs: []wire.Tensor{wire.PredictOutput(preds)}}
	}
	return req, a, nil
}

// upstreamAnswer forwards req's body to u: the predictions, the answer's
// bytes and the answer to record (failed, or 200 with the predictions and,
// with a Features model, the feature rows).
func (s *Server) upstreamAnswer(ctx context.Context, u *Upstream, req *rawRequest) ([]float64, []byte, answer) {
	n := len(req.raw)
	if req.raw == nil {
		n = len(req.instances)
	}
	preds, body, err := u.forwardRaw(ctx, req.body, n)
	if err == nil {
		err = finite(preds)
	}
	if err != nil && ctx.Err() != nil {
		err = s.ctxError(ctx.Err())
	}
	if err != nil {
		return nil, nil, failed(modelError("upstream", err))
	}
	a := answer{status: http.StatusOK, preds: preds}
	if u.spec.Features != nil {
		a.rows = req.features(u.spec.Features, len(preds))
	}
	return preds, body, a
}

// readRawV2 reads a V2 body within MaxBodyBytes and decodes its instances
// with readV2's checks: MaxInstances, the tensors, the input policy.
func (s *Server) readRawV2(w http.ResponseWriter, r *http.Request, t target) (*rawRequest, string, error) {
	body, err := s.readBody(w, r)
	if err != nil {
		return &rawRequest{}, "", err
	}
	req := &rawRequest{body: body}
	var v2 wire.V2Request
	if err := json.Unmarshal(body, &v2); err != nil {
		return req, "", bodyError(err)
	}
	for _, in := range v2.Inputs {
		if len(in.Shape) > 0 && in.Shape[0] > int64(s.opts.MaxInstances) {
			return req, "", tooManyInstances(s.opts.MaxInstances)
		}
	}
	if req.instances, err = wire.Instances(v2.Inputs, t.rev.features); err != nil {
		return req, "", err
	}
	if len(req.instances) == 0 {
		return req, "", modelgate.Errorf(modelgate.EINVALID, "request has no instances")
	}
	return req, v2.ID, t.rev.inputs.check(req.instances)
}

// readRawV1 reads a V1 body within MaxBodyBytes and splits out its
// instances ("instances", else "inputs", as decodeV1) within MaxInstances.
// Errors are EINVALID (413 beyond the size limit).
func (s *Server) readRawV1(w http.ResponseWriter, r *http.Request) (*rawRequest, error) {
	body, err := s.readBody(w, r)
	if err != nil {
		return &rawRequest{}, err
	}
	req := &rawRequest{body: body}
	req.raw, err = rawInstances(req.body, s.opts.MaxInstances)
	return req, err
}

// readBody reads r's body whole within MaxBodyBytes (413 beyond); an empty
// body is EINVALID. A body h1Server read whole is taken as it is, without
// a copy: it is valid until the handler returns, and nothing keeps it
// longer (recent requests keep copies).
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	body, err := s.wholeBody(w, r)
	if err != nil {
		return nil, err
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, modelgate.Errorf(modelgate.EINVALID, "request body is empty")
	}
	return body, nil
}

// wholeBody is r's body within MaxBodyBytes: h1Server's as it is, any
// other read whole.
func (s *Server) wholeBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if b, ok := r.Body.(*h1Body); ok {
		if body, ok := b.take(s.opts.MaxBodyBytes); ok {
			return body, nil
		}
	}
	body, err := limitedBody(w, r, s.opts.MaxBodyBytes)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if r.ContentLength > 0 {
		buf.Grow(int(r.ContentLength) + bytes.MinRead)
	}
	if _, err := buf.ReadFrom(body); err != nil {
		return nil, bodyError(err)
	}
	return buf.Bytes(), nil
}

// rawInstances splits a V1 body's instances without decoding them:
// scanned by hand (rawscan.go), or by encoding/json when the scanner is
// not sure, and for every refusal.
func rawInstances(body []byte, max int) ([]json.RawMessage, error) {
	if raw, ok := scanRawV1(body, max); ok {
		return raw, nil
	}
	return unmarshalRawInstances(body, max)
}

// unmarshalRawInstances is rawInstances by encoding/json.
func unmarshalRawInstances(body []byte, max int) ([]json.RawMessage, error) {
	var v struct {
		Instances []json.RawMessage `json:"instances"`
		Inputs    []json.RawMessage `json:"inputs"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			if te.Field == "" {
				return nil, modelgate.Errorf(modelgate.EINVALID, "request body is not a JSON object")
			}
			return nil, modelgate.Errorf(modelgate.EINVALID, "%q must be an array of instances", te.Field)
		}
		return nil, modelgate.Errorf(modelgate.EINVALID, "request body is not valid JSON: %v", err)
	}
	raw := v.Instances
	if raw == nil {
		raw = v.Inputs
	}
	switch {
	case raw == nil:
		return nil, modelgate.Errorf(modelgate.EINVALID, `request has no "instances"`)
	case len(raw) == 0:
		return nil, modelgate.Errorf(modelgate.EINVALID, "request has no instances")
	case len(raw) > max:
		return nil, tooManyInstances(max)
	}
	return raw, nil
}

// decoded returns the instances as Go values, decoding them once.
func (q *rawRequest) decoded() ([]any, error) {
	if q.instances != nil {
		return q.instances, nil
	}
	out := make([]any, len(q.raw))
	for i, b := range q.raw {
		if err := json.Unmarshal(b, &out[i]); err != nil {
			return nil, modelgate.Errorf(modelgate.EINVALID, "instance %d: %v", i, err)
		}
	}
	q.instances = out
	return out, nil
}

// check applies the revision's input policy.
func (q *rawRequest) check(p *inputPolicy) error {
	instances, err := q.decoded()
	if err != nil {
		return err
	}
	return p.check(instances)
}

// features are the feature rows of the instances for measurement; nil
// when the Features model fails or does not give one row per prediction.
func (q *rawRequest) features(m Model, n int) [][]float64 {
	instances, err := q.decoded()
	if err != nil {
		return nil
	}
	rows, err := m.Features(instances)
	if err != nil || len(rows) != n {
		return nil
	}
	return rows
}

// finite refuses NaN and infinite predictions, as infer does: JSON cannot
// carry them to the client.
func finite(preds []float64) error {
	for i, p := range preds {
		if math.IsNaN(p) || math.IsInf(p, 0) {
			return modelgate.Errorf(modelgate.EINTERNAL, "model returned %v for row %d", p, i)
		}
	}
	return nil
}

// writeRaw answers 200 with a JSON body that is already encoded.
func writeRaw(w http.ResponseWriter, body []byte) {
	h := w.Header()
	// The names are canonical already; one allocation holds both values.
	hv := []string{"application/json", strconv.Itoa(len(body))}
	h["Content-Type"], h["Content-Length"] = hv[0:1:1], hv[1:2:2]
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body) // the client went away; nothing to do
}

// recordRecentRaw keeps raw instances among the model's recent requests,
// compacted as recordRecent encodes them.
func (s *Server) recordRecentRaw(model string, raw []json.RawMessage) {
	if s.opts.RecentRequests <= 0 {
		return
	}
	tail := raw[max(0, len(raw)-s.opts.RecentRequests):]
	encoded := make([]json.RawMessage, 0, len(tail))
	for _, b := range tail {
		if !bytes.ContainsAny(b, " \t\r\n") {
			encoded = append(encoded, bytes.Clone(b)) // a copy: b holds on to the whole body
			continue
		}
		var c bytes.Buffer
		c.Grow(len(b))
		if json.Compact(&c, b) == nil {
			encoded = append(encoded, c.Bytes())
		}
	}
	s.recentOf(model, true).add(encoded)
}
