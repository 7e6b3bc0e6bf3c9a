package payload

import (
	"container/list"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"sync"
	"time"

	"github.com/modelgate/modelgate/wire"
)

// CloudEvent types the KServe inference logger sends.
const (
	TypeRequest  = "org.kubeflow.serving.inference.request"
	TypeResponse = "org.kubeflow.serving.inference.response"
)

// Headers of a binary-mode CloudEvent from the KServe logger.
const (
	HeaderID          = "Ce-Id"
	HeaderType        = "Ce-Type"
	HeaderSource      = "Ce-Source"
	HeaderAnnotations = "Ce-Annotations"
	HeaderService     = "Ce-Inferenceservicename"
)

// DefaultVersionAnnotation is the pod annotation modelgate's kserve
// package sets to the version (kserve.AnnotationVersion).
const DefaultVersionAnnotation = "modelgate.dev/version"

// Defaults of Receiver's limits.
const (
	DefaultTTL          = 2 * time.Minute
	DefaultMaxPending   = 10_000
	DefaultMaxFeatures  = 256
	DefaultMaxVersions  = 16
	defaultMaxEventBody = 32 << 20
)

// Receiver is the sink of KServe's inference logger: an http.Handler for
// its CloudEvents in binary mode (one POST per event; the body is the V1 or
// V2 request or response). It pairs each request with its response by
// Ce-Id, tells the version that answered from Ce-Annotations (the pod
// annotation VersionAnnotation, which the InferenceService's
// logger.metadataAnnotations must list), and accumulates per version what
// the gateway measures in-process: the predictions and every input
// feature, as DDSketch distributions (package sketch).
//
// It does not count errors or latency: the logger sends response events
// only for HTTP 200 answers, so error rates and latency come from metrics
// (Prometheus); MetricsSource merges the two. Memory is bounded: at most
// MaxPending unpaired events are kept, each for at most TTL; dropped ones
// are counted (Stats). Safe for concurrent use.
type Receiver struct {
	// Model names the model in Actuals. Set by NewReceiver.
	Model string
	// Service, when not empty, keeps only the events whose
	// Ce-Inferenceservicename is Service (others are answered 200 and
	// counted as ignored).
	Service string
	// VersionAnnotation is the key in Ce-Annotations naming the version.
	// Empty means DefaultVersionAnnotation.
	VersionAnnotation string
	// Actuals, when set, records each paired response's predictions under
	// its Ce-Id, so actuals posted later by that id are joined to them.
	Actuals *Actuals
	// Features, when set, turns a request's instances into feature rows
	// (for instance the version's feature transform, so feature names match
	// the training reference profile); names[j] names column j. Default:
	// numeric fields of map instances by name, elements of array instances
	// as feature_<j>. A failure is counted and the request's features left
	// out.
	Features func(version string, instances []any) (names []string, rows [][]float64, err error)
	// TTL is how long an event waits for its other half. Zero or less
	// means DefaultTTL.
	TTL time.Duration
	// MaxPending bounds the unpaired events kept; the oldest go first.
	// Zero or less means DefaultMaxPending.
	MaxPending int
	// MaxFeatures bounds the feature names kept per version, and
	// MaxVersions the versions; values beyond are counted, not kept. Zero
	// or less means DefaultMaxFeatures and DefaultMaxVersions.
	MaxFeatures, MaxVersions int
	// Now is the clock. Default (nil) time.Now.
	Now func() time.Time
	// Logger receives malformed events at debug level. Default: discard.
	Logger *slog.Logger

	mu      sync.Mutex
	pending map[string]*list.Element // Ce-Id → element of order holding a *half
	order   *list.List               // oldest first
	window  window
	stats   ReceiverStats
}

// half is one event waiting for the other.
type half struct {
	id        string
	at        time.Time
	version   string
	instances []any     // the request's; nil until it arrives
	preds     []float64 // the response's
	hasReq    bool
	hasResp   bool
}

// ReceiverStats are the receiver's counters since it was created.
type ReceiverStats struct {
	Events    int64 `json:"events"`    // events received
	Paired    int64 `json:"paired"`    // requests paired with their responses and accumulated
	Pending   int   `json:"pending"`   // events waiting for their other half
	Expired   int64 `json:"expired"`   // unpaired events dropped after TTL
	Evicted   int64 `json:"evicted"`   // unpaired events dropped over MaxPending
	Ignored   int64 `json:"ignored"`   // events of another InferenceService
	Malformed int64 `json:"malformed"` // events refused (400): bad headers or body
	NoVersion int64 `json:"no_version"`
	// Unparsed counts paired events whose predictions or features could
	// not be read (non-numeric outputs, a failing Features function).
	Unparsed int64 `json:"unparsed"`
	// Dropped counts values left out over MaxFeatures or MaxVersions.
	Dropped int64 `json:"dropped"`
}

// NewReceiver returns a receiver recording under model's name.
func NewReceiver(model string) *Receiver {
	return &Receiver{Model: model, pending: map[string]*list.Element{}, order: list.New()}
}

func (r *Receiver) now() time.Time {
	if r.Now == nil {
		return time.Now()
	}
	return r.Now()
}

// ServeHTTP receives one CloudEvent: 200 when it is kept (or ignored), 400
// when it is malformed, 415 in structured mode.
func (r *Receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeError(w, http.StatusMethodNotAllowed, "CloudEvents are posted with POST")
		return
	}
	status, err := r.receive(w, req)
	if err != nil {
		r.count(func(s *ReceiverStats) { s.Malformed++ })
		r.logger().Debug("payload event refused", "ce_id", req.Header.Get(HeaderID), "error", err)
		writeError(w, status, err.Error())
		return
	}
	w.WriteHeader(http.StatusOK)
}

func (r *Receiver) receive(w http.ResponseWriter, req *http.Request) (int, error) {
	r.count(func(s *ReceiverStats) { s.Events++ })
	if mt, _, _ := mime.ParseMediaType(req.Header.Get("Content-Type")); mt == "application/cloudevents+json" {
		return http.StatusUnsupportedMediaType, errors.New("structured-mode CloudEvents are not supported: the KServe logger sends binary mode")
	}
	id, typ := req.Header.Get(HeaderID), req.Header.Get(HeaderType)
	if id == "" {
		return http.StatusBadRequest, errors.New("event has no Ce-Id header")
	}
	if typ != TypeRequest && typ != TypeResponse {
		return http.StatusBadRequest, fmt.Errorf("event type %q is neither %s nor %s", typ, TypeRequest, TypeResponse)
	}
	if svc := req.Header.Get(HeaderService); r.Service != "" && svc != "" && svc != r.Service {
		r.count(func(s *ReceiverStats) { s.Ignored++ })
		return http.StatusOK, nil
	}
	version, err := r.version(req.Header.Get(HeaderAnnotations))
	if err != nil {
		return http.StatusBadRequest, err
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, defaultMaxEventBody))
	if err != nil {
		return http.StatusBadRequest, fmt.Errorf("read body: %v", err)
	}
	h := &half{id: id, version: version}
	if typ == TypeRequest {
		h.hasReq = true
		if h.instances, err = wire.LoggedInstances(body); err != nil {
			return http.StatusBadRequest, err
		}
	} else {
		h.hasResp = true
		if h.preds, err = wire.LoggedPredictions(body); err != nil {
			r.count(func(s *ReceiverStats) { s.Unparsed++ })
			h.preds = nil // still paired, so the request's features count
		}
	}
	if done := r.offer(h); done != nil {
		r.complete(done)
	}
	return http.StatusOK, nil
}

// version reads the version annotation; "" when absent.
func (r *Receiver) version(header string) (string, error) {
	if header == "" {
		return "", nil
	}
	var ann map[string]string
	if err := json.Unmarshal([]byte(header), &ann); err != nil {
		return "", fmt.Errorf("Ce-Annotations is not a JSON object of strings: %v", err)
	}
	key := r.VersionAnnotation
	if key == "" {
		key = DefaultVersionAnnotation
	}
	return ann[key], nil
}

// offer keeps h until its other half arrives and returns the pair once
// both are there.
func (r *Receiver) offer(h *half) *half {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.init()
	r.expire()
	el, ok := r.pending[h.id]
	if !ok {
		h.at = r.now()
		r.pending[h.id] = r.order.PushBack(h)
		r.evict()
		return nil
	}
	p := el.Value.(*half)
	if (h.hasReq && p.hasReq) || (h.hasResp && p.hasResp) {
		// the same half again: the newer one replaces it
		r.order.Remove(el)
		h.at = r.now()
		r.pending[h.id] = r.order.PushBack(h)
		return nil
	}
	r.order.Remove(el)
	delete(r.pending, h.id)
	if h.hasReq {
		p.instances, p.hasReq = h.instances, true
		if h.version != "" {
			p.version = h.version // the request's annotation wins
		}
	} else {
		p.preds, p.hasResp = h.preds, true
		if p.version == "" {
			p.version = h.version
		}
	}
	return p
}

func (r *Receiver) init() {
	if r.pending == nil {
		r.pending, r.order = map[string]*list.Element{}, list.New()
	}
}

// expire drops unpaired events older than TTL.
func (r *Receiver) expire() {
	ttl := r.TTL
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	now := r.now()
	for el := r.order.Front(); el != nil && now.Sub(el.Value.(*half).at) > ttl; el = r.order.Front() {
		r.drop(el)
		r.stats.Expired++
	}
}

// evict drops the oldest unpaired events over MaxPending.
func (r *Receiver) evict() {
	limit := r.MaxPending
	if limit <= 0 {
		limit = DefaultMaxPending
	}
	for r.order.Len() > limit {
		r.drop(r.order.Front())
		r.stats.Evicted++
	}
}

func (r *Receiver) drop(el *list.Element) {
	delete(r.pending, r.order.Remove(el).(*half).id)
}

// complete accumulates a paired request and response.
func (r *Receiver) complete(p *half) {
	if p.version == "" {
		r.count(func(s *ReceiverStats) { s.NoVersion++ })
		return
	}
	rows, err := r.featurize(p.version, p.instances)
	r.mu.Lock()
	if err != nil {
		r.stats.Unparsed++
	}
	r.stats.Dropped += r.window.add(p.version, rows, p.preds, r.limits())
	r.stats.Paired++
	start := r.window.started(r.now)
	r.mu.Unlock()
	if r.Actuals != nil && len(p.preds) > 0 {
		r.Actuals.Record(r.Model, p.version, start, p.id, p.preds)
	}
}

// featurize returns the request's feature values, row by row.
func (r *Receiver) featurize(version string, instances []any) ([][]featureValue, error) {
	if r.Features == nil {
		rows := make([][]featureValue, 0, len(instances))
		for _, inst := range instances {
			var row []featureValue
			rawFeatures([]any{inst}, func(name string, v float64) { row = append(row, featureValue{name, v}) })
			rows = append(rows, row)
		}
		return rows, nil
	}
	names, vals, err := r.Features(version, instances)
	if err != nil {
		return nil, err
	}
	rows := make([][]featureValue, len(vals))
	for i, v := range vals {
		rows[i] = make([]featureValue, len(v))
		for j, x := range v {
			rows[i][j] = featureValue{columnName(names, j), x}
		}
	}
	return rows, nil
}

func (r *Receiver) limits() limits {
	l := limits{features: r.MaxFeatures, versions: r.MaxVersions}
	if l.features <= 0 {
		l.features = DefaultMaxFeatures
	}
	if l.versions <= 0 {
		l.versions = DefaultMaxVersions
	}
	return l
}

func (r *Receiver) count(f func(*ReceiverStats)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	f(&r.stats)
}

// Stats returns the receiver's counters, after dropping expired events.
func (r *Receiver) Stats() ReceiverStats {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.init()
	r.expire()
	s := r.stats
	s.Pending = len(r.pending)
	return s
}

func (r *Receiver) logger() *slog.Logger {
	if r.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return r.Logger
}

var _ http.Handler = (*Receiver)(nil)
