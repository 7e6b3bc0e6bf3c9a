package gateway

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/modelgate/modelgate"
)

// A V1 request to a revision served by a V1 upstream is passed through:
// the client's body goes to the upstream unchanged and the upstream's
// answer comes back unchanged, once checked to hold one finite number per
// instance. The gateway only splits the instances into raw JSON values
// (to count them against MaxInstances and keep recent requests) and
// decodes them into Go values where something needs them: the input
// policy, the Features model, a mirror. That keeps measurement (requests,
// errors, latency, predictions and, with a Features model, features)
// exactly as on the translating path at a fraction of its cost.

// rawRequest is a passed-through V1 request.
type rawRequest struct {
	body      []byte
	raw       []json.RawMessage // its instances, slices of body
	instances []any             // raw decoded, once something needed them
}

// passThroughOf returns the upstream of t when r speaks its protocol.
// Only V1 passes through: a V2 answer names the model and version the
// upstream knows, not the gateway's.
func passThroughOf(t target, r *http.Request) (*Upstream, bool) {
	u, ok := t.rev.model.(*Upstream)
	if !ok || u.spec.Protocol != UpstreamV1 || !strings.HasSuffix(r.URL.Path, ":predict") {
		return nil, false
	}
	return u, true
}

// servePassThrough answers r through u and measures it as servePrediction
// does: the observation is recorded before the answer is written, recent
// requests and mirrors after.
func (s *Server) servePassThrough(name string, w http.ResponseWriter, r *http.Request, t target, u *Upstream, start time.Time, id string) {
	req, a, answer := s.forwardV1(w, r, t, u)
	t.stats.record(observation{status: a.status, latency: s.opts.Now().Sub(start), rows: a.rows, predictions: a.preds})
	s.recordPrediction(name, t, id, a)
	if a.status >= 500 {
		s.opts.Logger.Warn("prediction failed", "model", name, "version", t.rev.dep.Version, "status", a.status, "error", a.err)
	}
	if a.status == http.StatusOK {
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
	s.recordRecentRaw(name, req.raw)
	if t.mirror != nil {
		if instances, err := req.decoded(); err == nil {
			s.startMirror(mirrorJob{model: name, canary: t.mirror, stats: t.mirrorStats, instances: instances, stable: a.preds})
		}
	}
}

// forwardV1 reads, checks and forwards the request; answer is the
// upstream's body when a.status is 200.
func (s *Server) forwardV1(w http.ResponseWriter, r *http.Request, t target, u *Upstream) (*rawRequest, answer, []byte) {
	req, err := s.readRawV1(w, r)
	if err == nil && t.rev.inputs != nil {
		err = req.check(t.rev.inputs)
	}
	if err != nil {
		return req, failed(err), nil
	}
	preds, body, err := u.forwardRaw(r.Context(), req.body, len(req.raw))
	if err == nil {
		err = finite(preds)
	}
	if err != nil && r.Context().Err() != nil {
		err = s.ctxError(r.Context().Err())
	}
	if err != nil {
		return req, failed(modelError("upstream", err)), nil
	}
	a := answer{status: http.StatusOK, preds: preds}
	if u.spec.Features != nil {
		a.rows = req.features(u.spec.Features, len(preds))
	}
	return req, a, body
}

// readRawV1 reads a V1 body within MaxBodyBytes and splits out its
// instances ("instances", else "inputs", as decodeV1) within MaxInstances.
// Errors are EINVALID (413 beyond the size limit).
func (s *Server) readRawV1(w http.ResponseWriter, r *http.Request) (*rawRequest, error) {
	body, err := limitedBody(w, r, s.opts.MaxBodyBytes)
	if err != nil {
		return &rawRequest{}, err
	}
	var buf bytes.Buffer
	if r.ContentLength > 0 {
		buf.Grow(int(r.ContentLength) + bytes.MinRead)
	}
	if _, err := buf.ReadFrom(body); err != nil {
		return &rawRequest{}, bodyError(err)
	}
	req := &rawRequest{body: buf.Bytes()}
	req.raw, err = rawInstances(req.body, s.opts.MaxInstances)
	return req, err
}

// rawInstances splits a V1 body's instances without decoding them.
func rawInstances(body []byte, max int) ([]json.RawMessage, error) {
	var v struct {
		Instances []json.RawMessage `json:"instances"`
		Inputs    []json.RawMessage `json:"inputs"`
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, modelgate.Errorf(modelgate.EINVALID, "request body is empty")
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
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
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
