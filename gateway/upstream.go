package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"time"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/wire"
)

// maxUpstreamAnswer bounds what is read of an upstream's answer.
const maxUpstreamAnswer = 32 << 20

// Upstream protocols.
const (
	UpstreamV1 = "v1" // KServe V1: POST /v1/models/{name}:predict
	UpstreamV2 = "v2" // Open Inference Protocol: POST /v2/models/{name}/infer
)

// UpstreamSpec says how to reach an external model server for one revision:
// a server already running at URL, or one the gateway starts with Command on
// a port it chooses. The gateway serves the revision with its own V1 and V2
// data plane and measures it like a native model; the upstream sees the
// request's instances in its own protocol.
type UpstreamSpec struct {
	// URL is the base URL of a running server; "" to start Command.
	URL string
	// Command is the server's argv. "{port}" (the port chosen for it on
	// 127.0.0.1), "{model_dir}", "{name}" and "{version}" are replaced in
	// every argument.
	Command []string
	Dir     string   // the command's working directory; "" for the gateway's
	Env     []string // added to the gateway's environment
	// Protocol the upstream speaks: UpstreamV1, UpstreamV2 (default) or
	// UpstreamMLflow.
	Protocol string
	// Name is the model name in the upstream's paths; default the
	// deployment's model name.
	Name string
	// ReadyTimeout bounds the wait for the upstream to be ready; default 2m.
	ReadyTimeout time.Duration
	// RequestTimeout bounds one forwarded request; default 30s.
	RequestTimeout time.Duration
	// Features, when set, turns request instances into feature rows locally
	// for the per-revision feature measurement (the upstream predicts
	// regardless); nil leaves features unmeasured.
	Features Model
	// Logger receives the server's lifecycle; default discard.
	Logger *slog.Logger
}

// Forwarder is a Model that predicts from request instances itself: an
// external model server. The gateway calls PredictInstances instead of
// Features and Predict, and Features only to measure feature values (a nil
// or failing result leaves them unmeasured).
type Forwarder interface {
	Model
	PredictInstances(ctx context.Context, instances []any) ([]float64, error)
}

// Upstream is a revision served by an external model server. It implements
// Forwarder and io.Closer: the gateway closes it (stopping a server it
// started) once no environment serves it any more, and at Server.Close.
type Upstream struct {
	spec     UpstreamSpec
	base     string // without a trailing slash
	name     string
	path     string       // the prediction route, from predictPath
	hc       *http.Client // probes and metadata
	pool     *connPool    // predictions
	features []string
	proc     *process // nil for a URL upstream
}

var _ Forwarder = (*Upstream)(nil)

// StartUpstream starts (or, for a URL, checks) the upstream of d and waits
// until it reports ready. EINVALID for a bad spec; EUNAVAILABLE, with the
// server's last output, when it exits or is not ready within ReadyTimeout.
func StartUpstream(ctx context.Context, spec UpstreamSpec, d modelgate.Deployment) (*Upstream, error) {
	if err := spec.normalize(); err != nil {
		return nil, err
	}
	u := &Upstream{spec: spec, name: spec.Name, hc: &http.Client{Transport: newTransport()}}
	if u.name == "" {
		u.name = d.Model
	}
	u.path = u.predictPath()
	if spec.URL != "" {
		u.base = strings.TrimRight(spec.URL, "/")
	} else {
		p, err := startProcess(spec, d, u.name)
		if err != nil {
			return nil, err
		}
		u.proc, u.base = p, "http://"+p.addr
	}
	if pu, err := url.Parse(u.base); err == nil && pu.Scheme == "http" {
		u.pool = newConnPool(hostPort(pu), pu.Host)
	}
	ctx, cancel := context.WithTimeout(ctx, spec.ReadyTimeout)
	defer cancel()
	if err := u.waitReady(ctx); err != nil {
		_ = u.Close()
		return nil, err
	}
	u.features = u.readFeatureNames(ctx)
	spec.Logger.Info("upstream ready", "model", d.Model, "version", d.Version, "url", u.base, "protocol", spec.Protocol)
	return u, nil
}

func (s *UpstreamSpec) normalize() error {
	if s.Protocol == "" {
		s.Protocol = UpstreamV2
	}
	if s.Protocol != UpstreamV1 && s.Protocol != UpstreamV2 && s.Protocol != UpstreamMLflow {
		return modelgate.Errorf(modelgate.EINVALID, "upstream protocol %q: expected v1, v2 or mlflow", s.Protocol)
	}
	if (s.URL == "") == (len(s.Command) == 0) {
		return modelgate.Errorf(modelgate.EINVALID, "upstream: set exactly one of url and command")
	}
	if s.URL != "" {
		if u, err := url.Parse(s.URL); err != nil || u.Host == "" {
			return modelgate.Errorf(modelgate.EINVALID, "upstream url %q: expected http://host:port", s.URL)
		}
	}
	if s.ReadyTimeout <= 0 {
		s.ReadyTimeout = 2 * time.Minute
	}
	if s.RequestTimeout <= 0 {
		s.RequestTimeout = 30 * time.Second
	}
	if s.Logger == nil {
		s.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

// URL is the upstream's base URL.
func (u *Upstream) URL() string { return u.base }

// Close closes the connections kept to the upstream and stops a server
// the gateway started.
func (u *Upstream) Close() error {
	u.hc.CloseIdleConnections()
	if u.pool != nil {
		u.pool.close()
	}
	if u.proc == nil {
		return nil
	}
	return u.proc.stop()
}

// Healthy reports whether the upstream answers its readiness probe (and,
// for a started server, is still running).
func (u *Upstream) Healthy(ctx context.Context) error {
	if u.proc != nil {
		if err := u.proc.exited(); err != nil {
			return err
		}
	}
	return u.ready(ctx)
}

// FeatureNames implements Model: the local Features model's, else the
// inputs of the upstream's V2 metadata.
func (u *Upstream) FeatureNames() []string { return u.features }

// Features implements Model with the spec's Features model; without one it
// returns no rows.
func (u *Upstream) Features(instances []any) ([][]float64, error) {
	if u.spec.Features == nil {
		return nil, nil
	}
	return u.spec.Features.Features(instances)
}

// Predict implements Model; an upstream predicts from instances only.
func (u *Upstream) Predict([][]float64) ([]float64, error) {
	return nil, modelgate.Errorf(modelgate.EINTERNAL, "an external model server predicts from request instances, not feature rows")
}

// PredictInstances implements Forwarder: the instances go to the upstream
// in its protocol. The upstream's 4xx answers are EINVALID with its message,
// anything else that is not a 200 with one number per instance EINTERNAL,
// and an unreachable or exited server EUNAVAILABLE.
func (u *Upstream) PredictInstances(ctx context.Context, instances []any) ([]float64, error) {
	if err := u.running(); err != nil {
		return nil, err
	}
	path, body, err := u.request(instances)
	if err != nil {
		return nil, err
	}
	preds, _, err := u.exchange(ctx, path, body, len(instances))
	return preds, err
}

// forwardRaw sends a client's body, already in the upstream's protocol,
// unchanged and returns the n predictions and the answer's bytes, which
// can go back to the client as they are. Errors as PredictInstances.
func (u *Upstream) forwardRaw(ctx context.Context, body []byte, n int) ([]float64, []byte, error) {
	if err := u.running(); err != nil {
		return nil, nil, err
	}
	return u.exchange(ctx, u.path, body, n)
}

// running is the exit of a server the gateway started, nil while it runs.
func (u *Upstream) running() error {
	if u.proc == nil {
		return nil
	}
	return u.proc.exited()
}

// exchange posts body to path and reads the n predictions of the answer.
func (u *Upstream) exchange(ctx context.Context, path string, body []byte, n int) ([]float64, []byte, error) {
	status, b, err := u.post(ctx, path, body)
	if err != nil {
		return nil, nil, err
	}
	if status != http.StatusOK {
		code := modelgate.EINTERNAL
		if status >= 400 && status < 500 && status != http.StatusNotFound {
			code = modelgate.EINVALID
		}
		return nil, nil, modelgate.Errorf(code, "upstream %s answered %d: %s", u.base, status, upstreamMessage(b))
	}
	preds, err := u.decode(b)
	if err != nil {
		return nil, nil, modelgate.Errorf(modelgate.EINTERNAL, "answer of upstream %s: %s", u.base, modelgate.ErrorMessage(err))
	}
	if len(preds) != n {
		return nil, nil, modelgate.Errorf(modelgate.EINTERNAL, "upstream %s answered %d predictions for %d instances", u.base, len(preds), n)
	}
	return preds, b, nil
}

// predictPath is the upstream's prediction route in its protocol.
func (u *Upstream) predictPath() string {
	if u.spec.Protocol == UpstreamV1 {
		return "/v1/models/" + url.PathEscape(u.name) + ":predict"
	}
	return "/v2/models/" + url.PathEscape(u.name) + "/infer"
}

func (u *Upstream) request(instances []any) (string, []byte, error) {
	if u.spec.Protocol == UpstreamMLflow {
		b, err := mlflowRequest(instances, u.features)
		return mlflowInvocations, b, err
	}
	if u.spec.Protocol == UpstreamV1 {
		b, err := json.Marshal(wire.V1Request{Instances: instances})
		return u.path, b, err
	}
	inputs, err := wire.TensorsFromInstances(instances)
	if err != nil {
		return "", nil, err
	}
	b, err := json.Marshal(wire.V2Request{Inputs: inputs})
	return u.path, b, err
}

// decode reads the upstream's answer in its protocol.
func (u *Upstream) decode(b []byte) ([]float64, error) {
	if u.spec.Protocol == UpstreamMLflow {
		return decodeMLflowPredictions(b)
	}
	if u.spec.Protocol == UpstreamV1 {
		return decodeV1Answer(b)
	}
	out, err := wire.DecodeV2Response(b)
	if err != nil {
		return nil, err
	}
	return out.Predictions()
}

// decodeV1Answer reads a V1 answer's predictions: scanned by hand
// (rawscan.go) when they are plain numbers, by wire's decoder (null,
// "NaN" and the like, and every refusal) otherwise.
func decodeV1Answer(b []byte) ([]float64, error) {
	if preds, ok := scanPredictions(b); ok {
		return preds, nil
	}
	return wire.DecodeV1Predictions(b)
}

// post sends body and reads the whole answer, so the connection goes back
// to the pool. An answer beyond maxUpstreamAnswer is an error: reading on
// would hold the memory, stopping early would cut it.
func (u *Upstream) post(ctx context.Context, path string, body []byte) (int, []byte, error) {
	ctx, cancel := u.bounded(ctx)
	defer cancel()
	if u.pool == nil {
		return u.postHTTP(ctx, path, body)
	}
	status, b, err := u.pool.post(ctx, path, body)
	if err != nil {
		return 0, nil, &modelgate.Error{Code: modelgate.EUNAVAILABLE, Message: "upstream " + u.base + " unreachable: " + err.Error(), Err: err}
	}
	return status, b, nil
}

// postHTTP posts with net/http, for an https upstream.
func (u *Upstream) postHTTP(ctx context.Context, path string, body []byte) (int, []byte, error) {
	if dl, ok := ctx.Deadline(); ok {
		// net/http waits on Done, which a deadlineContext does not close
		// at its deadline.
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, dl)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.base+path, bytes.NewReader(body))
	if err != nil {
		return 0, nil, modelgate.Errorf(modelgate.EINTERNAL, "upstream request: %v", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := u.hc.Do(req)
	if err != nil {
		return 0, nil, &modelgate.Error{Code: modelgate.EUNAVAILABLE, Message: "upstream " + u.base + " unreachable: " + err.Error(), Err: err}
	}
	defer resp.Body.Close()
	b, err := readAnswer(resp)
	if err != nil {
		return 0, nil, &modelgate.Error{Code: modelgate.EUNAVAILABLE, Message: "read upstream answer: " + err.Error(), Err: err}
	}
	return resp.StatusCode, b, nil
}

// hostPort is u's host with the scheme's default port when it names none.
func hostPort(u *url.URL) string {
	if u.Port() != "" {
		return u.Host
	}
	return net.JoinHostPort(u.Hostname(), "80")
}

// readAnswer reads resp's body whole, sized by its Content-Length when
// it declares one.
func readAnswer(resp *http.Response) ([]byte, error) {
	if resp.ContentLength > maxUpstreamAnswer {
		return nil, fmt.Errorf("the answer's %d bytes exceed the gateway's limit of %d", resp.ContentLength, maxUpstreamAnswer)
	}
	var buf bytes.Buffer
	if resp.ContentLength > 0 {
		buf.Grow(int(resp.ContentLength) + bytes.MinRead)
	}
	if _, err := buf.ReadFrom(io.LimitReader(resp.Body, maxUpstreamAnswer+1)); err != nil {
		return nil, err
	}
	if buf.Len() > maxUpstreamAnswer {
		return nil, fmt.Errorf("the answer exceeds the gateway's limit of %d bytes", maxUpstreamAnswer)
	}
	return buf.Bytes(), nil
}

// bounded applies RequestTimeout to ctx unless ctx already ends sooner
// (a gateway request's context does), sparing a timer per request.
func (u *Upstream) bounded(ctx context.Context) (context.Context, context.CancelFunc) {
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) <= u.spec.RequestTimeout {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, u.spec.RequestTimeout)
}

// upstreamMessage extracts {"error": "..."} (KServe's form) or clips the body.
func upstreamMessage(b []byte) string {
	var e wire.ErrorBody
	if json.Unmarshal(b, &e) == nil && e.Error != "" {
		return e.Error
	}
	if m := mlflowMessage(b); m != "" {
		return m
	}
	s := strings.TrimSpace(string(b))
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

// waitReady polls the readiness probe until it answers 200, the process
// exits or ctx ends.
func (u *Upstream) waitReady(ctx context.Context) error {
	var last error
	for {
		if u.proc != nil {
			if err := u.proc.exited(); err != nil {
				return err
			}
		}
		if last = u.ready(ctx); last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			msg := fmt.Sprintf("upstream %s was not ready within %s: %s", u.base, u.spec.ReadyTimeout, modelgate.ErrorMessage(last))
			if u.proc != nil {
				msg += "; its output ends with: " + u.proc.tail()
			}
			return &modelgate.Error{Code: modelgate.EUNAVAILABLE, Message: msg, Err: last}
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// ready asks the model's readiness route of the upstream's protocol.
func (u *Upstream) ready(ctx context.Context) error {
	path := "/v2/models/" + url.PathEscape(u.name) + "/ready"
	if u.spec.Protocol == UpstreamV1 {
		path = "/v1/models/" + url.PathEscape(u.name)
	}
	if u.spec.Protocol == UpstreamMLflow {
		path = mlflowPing
	}
	ctx, cancel := u.bounded(ctx)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.base+path, nil)
	if err != nil {
		return err
	}
	resp, err := u.hc.Do(req)
	if err != nil {
		return &modelgate.Error{Code: modelgate.EUNAVAILABLE, Message: err.Error(), Err: err}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return modelgate.Errorf(modelgate.EUNAVAILABLE, "GET %s answered %d: %s", path, resp.StatusCode, upstreamMessage(b))
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096)) // read to the end: the connection is reused
	return nil
}

// readFeatureNames returns the Features model's names, else the upstream's
// V2 metadata inputs (nil when it has none).
func (u *Upstream) readFeatureNames(ctx context.Context) []string {
	if u.spec.Features != nil {
		return u.spec.Features.FeatureNames()
	}
	if u.spec.Protocol != UpstreamV2 {
		return nil
	}
	ctx, cancel := u.bounded(ctx)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.base+"/v2/models/"+url.PathEscape(u.name), nil)
	if err != nil {
		return nil
	}
	resp, err := u.hc.Do(req)
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	var md wire.V2Metadata
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&md) != nil {
		return nil
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096)) // read to the end: the connection is reused
	names := make([]string, len(md.Inputs))
	for i, in := range md.Inputs {
		names[i] = in.Name
	}
	return names
}

// forward predicts through an external server; feature rows are computed
// only for measurement, and their failure does not fail the request.
func forward(ctx context.Context, f Forwarder, instances []any) ([][]float64, []float64, error) {
	preds, err := f.PredictInstances(ctx, instances)
	if err != nil {
		return nil, nil, modelError("upstream", err)
	}
	rows, ferr := f.Features(instances)
	if ferr != nil || len(rows) != len(preds) {
		rows = nil
	}
	return rows, preds, nil
}

// loadDeployment loads d with the Options.DeploymentLoader.
func loadDeployment(load func(modelgate.Deployment) (Model, error), d modelgate.Deployment) (*revision, error) {
	m, err := load(d)
	if err != nil {
		return nil, loadError(d, err)
	}
	return newRevision(d, m), nil
}

// release closes the models of old that no model's state serves any more.
// It runs under adminMu, after a change was swapped in.
func (s *Server) release(old modelState) {
	s.mu.RLock()
	var live []modelState
	for _, m := range s.models {
		live = append(live, m)
	}
	s.mu.RUnlock()
	closeModels([]modelState{old}, live)
}

// closeModels closes every io.Closer model of states that no state of keep
// serves.
func closeModels(states, keep []modelState) {
	kept := map[io.Closer]bool{}
	for _, m := range keep {
		for _, r := range m.revisions() {
			if c, ok := closer(r.model); ok {
				kept[c] = true
			}
		}
	}
	for _, m := range states {
		for _, r := range m.revisions() {
			if c, ok := closer(r.model); ok && !kept[c] {
				kept[c] = true // close once
				_ = c.Close()
			}
		}
	}
}

// closer returns m as an io.Closer usable as a map key.
func closer(m Model) (io.Closer, bool) {
	c, ok := m.(io.Closer)
	return c, ok && reflect.TypeOf(c).Comparable()
}

// revisions returns every revision m serves, in production and staging.
func (m modelState) revisions() []*revision {
	var out []*revision
	for _, r := range append(m.prod.revisions(), m.staging) {
		if r != nil {
			out = append(out, r)
		}
	}
	return out
}
