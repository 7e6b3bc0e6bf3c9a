package gateway

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/modelgate/modelgate"
)

// Options configure a Server.
type Options struct {
	// Loader loads a model directory. Required unless DeploymentLoader is set.
	Loader Loader
	// DeploymentLoader, when set, is used instead of Loader: it sees the
	// whole deployment (model name, version), so it can serve some models
	// through external servers (StartUpstream). A returned Model that
	// implements io.Closer is closed once no environment serves it.
	DeploymentLoader func(d modelgate.Deployment) (Model, error)
	// DirDigest computes a model directory's digest, which must equal the
	// deployment's Digest before the gateway serves the directory. Default
	// modelgate.DirDigest; tests with fake model directories replace it.
	DirDigest func(dir string) (string, error)
	// StatePath is the JSON file where the served configuration and its
	// measurements are kept so a restarted gateway serves the same thing
	// and its canary window goes on. "" keeps it in memory only.
	StatePath string
	// SnapshotInterval is how often the measurements are saved to
	// StatePath while requests keep coming; they are also saved before
	// every /observe answer, with every admin change and at Close.
	// Default 5s; negative saves them only on those occasions.
	SnapshotInterval time.Duration
	// Now is the clock for windows and latencies. Default time.Now.
	Now func() time.Time
	// Rand returns a uniform number in [0, 1) to split traffic; the server
	// serialises calls, so rand.New(rand.NewPCG(seed, seed)).Float64 is fine.
	// Default math/rand/v2's Float64.
	Rand func() float64
	// AdminToken is the bearer token the admin API requires
	// ("Authorization: Bearer <token>"), compared in constant time; a
	// request without it or with another is refused with 401. "" leaves
	// the admin API open, which only in-process use and tests should do:
	// modelgate serve always sets one.
	AdminToken string
	// AdminTokenHint tells a refused caller how to supply the token (for
	// modelgate: which config keys and files). Optional.
	AdminTokenHint string
	// Logger receives admin changes and model failures. Default: discard.
	Logger *slog.Logger
	// Actuals, when set, records production predictions by request id,
	// serves POST /actuals and adds Accuracy to /observe. Default (nil): no
	// actuals are collected.
	Actuals Actuals
	// MaxBodyBytes bounds a prediction request's body: beyond it the
	// answer is 413 naming the limit. Default 10 MiB.
	MaxBodyBytes int64
	// MaxInstances bounds the instances (rows) of one prediction request:
	// beyond it the answer is 400 naming the limit, decided while the body
	// is read. Default 10,000.
	MaxInstances int
	// MaxConcurrent bounds the predictions in flight; beyond it the answer
	// is 429 with Retry-After, so overload is refused, not queued.
	// Default 64.
	MaxConcurrent int
	// RequestTimeout bounds one prediction; the work stops within one
	// batch of rows after it (504), or after the client went away.
	// Default 30s.
	RequestTimeout time.Duration
	// MaxMirrors bounds the mirrored requests (CanaryRequest.MirrorPercent)
	// running at once; a mirror beyond it is dropped and counted, so
	// mirroring never queues work behind production. Default 4.
	MaxMirrors int
	// MirrorTimeout bounds one mirrored canary call. Default 10s.
	MirrorTimeout time.Duration
	// RecentRequests is how many of each model's latest production
	// instances are kept, in memory only, for GET .../recent and
	// Deployer.RecentRequests. Default 1000; negative keeps none.
	RecentRequests int
	// RecentBytes bounds the memory those instances take per model, as
	// JSON. Default 8 MiB.
	RecentBytes int
	// BusyPoll, when positive, keeps the data plane's thread polling the
	// network for this long after each event before it sleeps (Linux
	// only; busypoll_linux.go). It spends the gateway's idle CPU while
	// traffic flows (a whole core at any steady rate) so that the cores
	// sending to it do not pay for waking it: for a gateway given a core
	// of its own (GOMAXPROCS=1) in front of an upstream on another one.
	// Default 0: off.
	BusyPoll time.Duration
}

// Server is the gateway: the data plane (production at the root, staging
// under /staging) and the /admin/ API. Create it with NewServer, call Open,
// serve Handler, and Close when done.
type Server struct {
	opts     Options
	data     http.Handler // the data plane
	adminAPI http.Handler // the admin API, behind the token check
	both     http.Handler // both on one handler
	ready    atomic.Bool  // set by Open, cleared by Close

	mu     sync.RWMutex // guards models
	models map[string]modelState

	adminMu sync.Mutex // serialises admin changes (load, persist, swap)
	stateMu sync.Mutex // serialises writes of the state file with the swaps they record
	randMu  sync.Mutex // guards opts.Rand

	recentMu sync.Mutex // guards recent
	recent   map[string]*recentRequests

	bufs buffers  // request bodies and answers of the data plane
	date httpDate // the Date of the data plane's answers

	slots       chan struct{}   // one token per prediction in flight
	mirrorSlots chan struct{}   // one token per mirror in flight
	mirrors     sync.WaitGroup  // mirrors in flight, awaited by Close
	loops       sync.WaitGroup  // background loops (snapshots), awaited by Close
	opened      atomic.Bool     // Open succeeded: Close saves the figures
	background  context.Context // background work's context; cancelled by Close
	stop        context.CancelFunc
}

// NewServer returns a Server with defaults filled in; it serves nothing
// until Open.
func NewServer(opts Options) *Server {
	opts.setDefaults()
	s := &Server{opts: opts, models: map[string]modelState{}, recent: map[string]*recentRequests{},
		slots: make(chan struct{}, opts.MaxConcurrent), mirrorSlots: make(chan struct{}, opts.MaxMirrors)}
	s.background, s.stop = context.WithCancel(context.Background())
	s.data, s.adminAPI = s.dataRoutes(), s.adminRoutes()
	both := http.NewServeMux()
	both.Handle("/admin/", s.adminAPI)
	both.Handle("/", s.data)
	s.both = both
	return s
}

// setDefaults fills in every option left at its zero value.
func (o *Options) setDefaults() {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Rand == nil {
		o.Rand = rand.Float64
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.DirDigest == nil {
		o.DirDigest = modelgate.DirDigest
	}
	if o.SnapshotInterval == 0 {
		o.SnapshotInterval = defaultSnapshotInterval
	}
	o.setLimits()
	o.setMirrorDefaults()
}

// Open loads the persisted state and every model it names. EINVALID when
// the Loader is missing; a model that fails to load fails Open.
func (s *Server) Open() error {
	if s.opts.Loader == nil && s.opts.DeploymentLoader == nil {
		return modelgate.Errorf(modelgate.EINVALID, "gateway: Options.Loader is required")
	}
	if s.opts.StatePath != "" {
		if err := s.restore(); err != nil {
			return err
		}
		if s.opts.SnapshotInterval > 0 {
			s.loops.Go(s.snapshotLoop)
		}
	}
	s.opened.Store(true)
	s.ready.Store(true)
	return nil
}

// Close stops answering readiness probes, cancels and awaits background
// work (mirrors, snapshots), saves the measurements and closes the models that hold resources (external
// servers it started). It never fails.
func (s *Server) Close() error {
	s.ready.Store(false)
	s.stop()
	s.mirrors.Wait()
	s.loops.Wait()
	if s.opened.Swap(false) {
		if err := s.snapshot(); err != nil {
			s.opts.Logger.Error("gateway could not save its measurements", "path", s.opts.StatePath, "error", err)
		}
	}
	s.adminMu.Lock()
	defer s.adminMu.Unlock()
	s.mu.RLock()
	var all []modelState
	for _, m := range s.models {
		all = append(all, m)
	}
	s.mu.RUnlock()
	closeModels(all, nil)
	return nil
}

// Handler returns one HTTP handler for both the data plane and the admin
// API (still behind Options.AdminToken when set), for tests and in-process
// use. A served gateway keeps them apart: DataHandler and AdminHandler on
// their own listeners (Serve).
func (s *Server) Handler() http.Handler { return s.both }

// DataHandler returns the data plane: predictions, metadata, health and
// POST /actuals. It serves no /admin/ path at all (404).
func (s *Server) DataHandler() http.Handler { return s.data }

// AdminHandler returns the admin API (/admin/...), which answers only
// requests carrying Options.AdminToken as a bearer token.
func (s *Server) AdminHandler() http.Handler { return s.adminAPI }

func (s *Server) restore() error {
	st, err := readState(s.opts.StatePath)
	if err != nil {
		return err
	}
	names := make([]string, 0, len(st.Models))
	for name := range st.Models {
		names = append(names, name)
	}
	sort.Strings(names)
	models := make(map[string]modelState, len(names))
	for _, name := range names {
		m, err := s.restoreModel(st.Models[name])
		if err != nil {
			return fmt.Errorf("restore model %s: %w", name, err)
		}
		models[name] = m
	}
	s.mu.Lock()
	s.models = models
	s.mu.Unlock()
	s.opts.Logger.Info("gateway state restored", "path", s.opts.StatePath, "models", len(models))
	return nil
}

func (s *Server) restoreModel(rec modelRecord) (modelState, error) {
	var m modelState
	load := func(d *modelgate.Deployment, reuse ...*revision) (*revision, error) {
		if d == nil {
			return nil, nil
		}
		return s.revisionFor(*d, reuse...)
	}
	stable, err := load(rec.Stable)
	if err != nil {
		return m, err
	}
	canary, err := load(rec.Canary, stable)
	if err != nil {
		return m, err
	}
	if m.staging, err = load(rec.Staging, stable, canary); err != nil {
		return m, err
	}
	if canary != nil && (stable == nil || rec.CanaryPercent < 1 || rec.CanaryPercent > 99 || rec.MirrorPercent < 0 || rec.MirrorPercent > 100) {
		return m, modelgate.Errorf(modelgate.EINVALID,
			"canary %s needs a stable revision, a percent between 1 and 99 and a mirror percent between 0 and 100", canary.dep.Version)
	}
	if stable != nil {
		m.prod, err = s.restoreProduction(rec, stable, canary)
	}
	return m, err
}

// restoreProduction rebuilds a saved split: its window's start and the
// figures measured so far, so a restart does not reset a canary window.
func (s *Server) restoreProduction(rec modelRecord, stable, canary *revision) (*production, error) {
	now := s.opts.Now()
	start := rec.Since
	if start.IsZero() {
		start = now
	}
	p := newProduction(stable, canary, rec.CanaryPercent, rec.MirrorPercent, start)
	return p, p.restoreFigures(rec.Figures, now)
}

// revisionFor returns a revision serving d, reusing an already loaded model
// of the same version and digest (verified when it was loaded), loading
// d.ModelDir otherwise once its digest is verified.
func (s *Server) revisionFor(d modelgate.Deployment, loaded ...*revision) (*revision, error) {
	if r := findRevision(d, loaded...); r != nil {
		if r.dep == d {
			return r, nil
		}
		return &revision{dep: d, model: r.model, features: r.features, inputs: r.inputs, fields: r.fields}, nil
	}
	if err := s.verifyArtifact(d); err != nil {
		return nil, err
	}
	if s.opts.DeploymentLoader != nil {
		return loadDeployment(s.opts.DeploymentLoader, d)
	}
	return loadRevision(s.opts.Loader, d)
}

// state returns the current state of a model.
func (s *Server) state(name string) (modelState, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	m, ok := s.models[name]
	return m, ok
}

// random returns the next number of the split's random source.
func (s *Server) random() float64 {
	s.randMu.Lock()
	defer s.randMu.Unlock()
	return s.opts.Rand()
}
