package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"time"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/wire"
)

// answer is the outcome of one prediction request.
type answer struct {
	status    int
	body      any
	instances []any // the request's instances, once read
	rows      [][]float64
	preds     []float64
	err       error // why status is not 200
}

func failed(err error) answer {
	return answer{status: dataStatus(err), body: wire.ErrorBody{Error: modelgate.ErrorMessage(err)}, err: err}
}

// reader decodes one protocol's prediction request: the instances to
// predict and how to answer with their predictions. Errors are EINVALID.
type reader func(w http.ResponseWriter, r *http.Request, t target) ([]any, replier, error)

// replier turns predictions into a protocol's answer body.
type replier func(preds []float64) any

// predictHandler serves one prediction request of a protocol within the
// limits: one of MaxConcurrent slots (else 429) and RequestTimeout.
func (s *Server) predictHandler(e env, name string, w http.ResponseWriter, r *http.Request, read reader) {
	if !s.admit(w) {
		return
	}
	defer s.releaseSlot()
	s.servePrediction(e, name, w, r, read, time.Now().Add(s.opts.RequestTimeout))
}

// predictionContext is r's context ending at deadline. A native model
// gets a deadlineContext, which needs no timer: it is only asked Err
// between batches. A Forwarder's HTTP call waits on Done, so it gets a
// real one.
func predictionContext(parent context.Context, m Model, deadline time.Time) (context.Context, context.CancelFunc) {
	if _, ok := m.(Forwarder); ok {
		return context.WithDeadline(parent, deadline)
	}
	return deadlineContext{Context: parent, deadline: deadline}, func() {}
}

// deadlineContext ends at deadline when asked Err; Done is its parent's.
type deadlineContext struct {
	context.Context
	deadline time.Time
}

func (c deadlineContext) Deadline() (time.Time, bool) { return c.deadline, true }

func (c deadlineContext) Err() error {
	if err := c.Context.Err(); err != nil {
		return err
	}
	if !time.Now().Before(c.deadline) {
		return context.DeadlineExceeded
	}
	return nil
}

// servePrediction picks the revision, reads the request, predicts by
// deadline, times and records the request and writes the answer.
func (s *Server) servePrediction(e env, name string, w http.ResponseWriter, r *http.Request, read reader, deadline time.Time) {
	t, ok := s.pick(e, name, r)
	if !ok {
		writeDataError(w, http.StatusNotFound, notServed(e, name))
		return
	}
	start := s.opts.Now()
	id := requestID(r)
	// The names are canonical already; one allocation holds both values
	// and a pass-through's context.
	one := &struct {
		hv  [2]string
		ctx deadlineContext
	}{hv: [2]string{t.rev.dep.Version, id}}
	h := w.Header()
	h[HeaderModelVersion], h[HeaderRequestID] = one.hv[0:1:1], one.hv[1:2:2]
	h["Date"] = s.date.header(start)
	if _, ok := t.rev.model.(Forwarder); ok {
		watchClient(r) // the wait on the upstream ends when the client leaves
	}
	if u, fwd, ok := passThroughOf(t, r); ok {
		// No timer: the upstream connection's own deadline ends the wait
		// (connPool.roundTrip), sparing a timer and a copy of r per request.
		one.ctx = deadlineContext{Context: r.Context(), deadline: deadline}
		s.servePassThrough(&one.ctx, name, w, r, t, u, fwd, start, id)
		return
	}
	ctx, cancel := predictionContext(r.Context(), t.rev.model, deadline)
	a := s.predict(ctx, w, r, t, read)
	cancel()
	t.stats.record(observation{
		status:      a.status,
		latency:     s.opts.Now().Sub(start),
		rows:        a.rows,
		predictions: a.preds,
	})
	s.recordPrediction(name, t, id, a)
	if a.status >= 500 {
		s.opts.Logger.Warn("prediction failed", "model", name, "version", t.rev.dep.Version,
			"status", a.status, "error", a.err)
	}
	writeJSONWith(w, a.status, a.body, &s.bufs)
	if f, ok := w.(http.Flusher); ok {
		f.Flush() // the client has its answer before any work below
	}
	s.afterAnswer(name, t, a)
}

// afterAnswer does the work a successful production answer leads to and
// the client need not wait for: keeping its instances among the recent
// requests and mirroring it to the canary.
func (s *Server) afterAnswer(name string, t target, a answer) {
	if a.status != http.StatusOK || t.stats == nil {
		return
	}
	s.recordRecent(name, a.instances)
	if t.mirror != nil {
		s.startMirror(mirrorJob{model: name, canary: t.mirror, stats: t.mirrorStats, instances: a.instances, stable: a.preds})
	}
}

// predict reads the request with read, checks its instances against the
// model's declared input types and answers it with t's model.
func (s *Server) predict(ctx context.Context, w http.ResponseWriter, r *http.Request, t target, read reader) answer {
	instances, reply, err := read(w, r, t)
	if err == nil {
		err = t.rev.inputs.check(instances)
	}
	if err != nil {
		return failed(err)
	}
	rows, preds, err := infer(ctx, t.rev.model, instances)
	if err != nil && ctx.Err() != nil {
		err = s.ctxError(ctx.Err())
	}
	if err != nil {
		return failed(err)
	}
	return answer{status: http.StatusOK, body: reply(preds), instances: instances, rows: rows, preds: preds}
}

// infer turns instances into features and predictions. Errors are
// *modelgate.Error: EINVALID for bad instances, EINTERNAL for model failures.
func infer(ctx context.Context, m Model, instances []any) (rows [][]float64, preds []float64, err error) {
	defer func() {
		if v := recover(); v != nil {
			rows, preds, err = nil, nil, modelgate.Errorf(modelgate.EINTERNAL, "model panicked: %v", v)
		}
	}()
	if len(instances) == 0 {
		return nil, nil, modelgate.Errorf(modelgate.EINVALID, "request has no instances")
	}
	if f, ok := m.(Forwarder); ok {
		rows, preds, err = forward(ctx, f, instances)
	} else {
		rows, preds, err = predictNative(ctx, m, instances)
	}
	if err != nil {
		return rows, nil, err
	}
	if len(preds) != len(instances) {
		return rows, nil, modelgate.Errorf(modelgate.EINTERNAL, "model returned %d predictions for %d rows", len(preds), len(instances))
	}
	for i, p := range preds {
		if math.IsNaN(p) || math.IsInf(p, 0) {
			return rows, nil, modelgate.Errorf(modelgate.EINTERNAL, "model returned %v for row %d", p, i)
		}
	}
	return rows, preds, nil
}

// predictNative predicts in batches of batchRows, looking at ctx between
// batches so a timeout or a client that went away stops the work.
func predictNative(ctx context.Context, m Model, instances []any) ([][]float64, []float64, error) {
	rows, err := m.Features(instances) // the deadline is checked before each batch below
	if err != nil && ctx.Err() != nil {
		return nil, nil, ctx.Err()
	}
	if err != nil {
		return nil, nil, modelError("features", err)
	}
	if len(rows) <= batchRows { // one batch: its answer is the answer
		if err := ctx.Err(); err != nil {
			return rows, nil, err
		}
		preds, err := m.Predict(rows)
		if err != nil {
			return rows, nil, modelError(batchStep(0), err)
		}
		return rows, preds, nil
	}
	preds := make([]float64, 0, len(rows))
	for i := 0; i < len(rows); i += batchRows {
		if err := ctx.Err(); err != nil {
			return rows, nil, err
		}
		p, err := m.Predict(rows[i:min(i+batchRows, len(rows))])
		if err != nil {
			return rows, nil, modelError(batchStep(i), err)
		}
		preds = append(preds, p...)
	}
	return rows, preds, nil
}

// batchStep names the prediction of the batch starting at row i, so a
// model's row numbers (counted within the batch) can be placed.
func batchStep(i int) string {
	if i == 0 {
		return "predict"
	}
	return fmt.Sprintf("predict (batch from row %d)", i)
}

// modelError keeps a model's *modelgate.Error and makes any other error an
// EINTERNAL failure.
func modelError(step string, err error) error {
	var e *modelgate.Error
	if errors.As(err, &e) {
		return err
	}
	return &modelgate.Error{Code: modelgate.EINTERNAL, Message: step + ": " + err.Error(), Err: err}
}

// decodeBody decodes a JSON request body of at most limit bytes into v;
// errors are EINVALID (413 on the data plane for a body beyond limit).
func decodeBody(w http.ResponseWriter, r *http.Request, v any, limit int64) error {
	body, err := limitedBody(w, r, limit)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(body)
	if err := dec.Decode(v); err != nil {
		return bodyError(err)
	}
	if dec.More() {
		return modelgate.Errorf(modelgate.EINVALID, "request body holds more than one JSON value")
	}
	return nil
}
