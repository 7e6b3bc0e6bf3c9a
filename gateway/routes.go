package gateway

import (
	"fmt"
	"net/http"
	"strings"
	"time"
)

// env names an environment of the data plane.
type env int

const (
	envProduction env = iota
	envStaging
)

// StagingPrefix is the path prefix of the staging environment.
const StagingPrefix = "/staging"

// Header names.
const (
	// HeaderModelVersion carries the version of the revision that answered.
	HeaderModelVersion = "X-Model-Version"
	// HeaderRequestKey routes production requests stickily: the same key
	// always reaches the same revision while the split stays the same.
	HeaderRequestKey = "X-Request-Key"
)

// dataRoutes is the data plane: predictions and metadata in production and
// staging, and POST /actuals. It has no /admin/ path at all.
func (s *Server) dataRoutes() http.Handler {
	return &dataMux{s: s, mux: s.dataServeMux()}
}

// dataMux routes V1 predictions, most of the data plane's requests,
// without its ServeMux, to the handler the mux would choose, sparing each
// its pattern match and path-value allocation; everything else goes to
// the mux.
type dataMux struct {
	s   *Server
	mux *http.ServeMux
}

func (d *dataMux) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost && r.URL.RawPath == "" {
		if e, name, ok := v1PredictPath(r.URL.Path); ok {
			d.s.predictHandler(e, name, w, r, d.s.readV1)
			return
		}
	}
	d.mux.ServeHTTP(w, r)
}

// v1PredictPath matches a path the mux routes to handleV1Predict, which
// predicts with it: "[/staging]/v1/models/{rest}" where rest is one
// segment ending in ":predict". Such a path is clean (the mux would not
// redirect it): its last segment is neither "." nor "..", and no other
// segment is free.
func v1PredictPath(p string) (env, string, bool) {
	e := envProduction
	if rest, ok := strings.CutPrefix(p, StagingPrefix+"/"); ok {
		e, p = envStaging, "/"+rest
	}
	rest, ok := strings.CutPrefix(p, "/v1/models/")
	if !ok || strings.IndexByte(rest, '/') >= 0 {
		return 0, "", false
	}
	name, ok := strings.CutSuffix(rest, ":predict")
	return e, name, ok
}

// dataServeMux is every route of the data plane.
func (s *Server) dataServeMux() *http.ServeMux {
	mux := http.NewServeMux()
	for _, e := range []env{envProduction, envStaging} {
		p := ""
		if e == envStaging {
			p = StagingPrefix
		}
		mux.HandleFunc("GET "+p+"/v1/models/{name}", s.modelHandler(e, modelReady))
		mux.HandleFunc("POST "+p+"/v1/models/{rest}", s.handleV1Predict(e))
		mux.HandleFunc("GET "+p+"/v2/health/live", s.handleLive)
		mux.HandleFunc("GET "+p+"/v2/health/ready", s.handleReady)
		mux.HandleFunc("GET "+p+"/v2/models/{name}", s.modelHandler(e, v2Metadata))
		mux.HandleFunc("GET "+p+"/v2/models/{name}/ready", s.modelHandler(e, modelReady))
		mux.HandleFunc("POST "+p+"/v2/models/{name}/infer", s.handleV2Infer(e))
	}
	if s.opts.Actuals != nil {
		mux.Handle("POST /actuals", s.opts.Actuals)
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeDataError(w, http.StatusNotFound, "no route for "+r.Method+" "+r.URL.Path)
	})
	return mux
}

// target is the revision chosen to answer one request.
type target struct {
	rev    *revision
	stats  *revisionStats // nil in staging: staging is not measured
	window time.Time      // production's split start: the measurement window
	// mirror is the canary to repeat a stable answer on, chosen with the
	// split's mirror share; nil otherwise. mirrorStats are its figures.
	mirror      *revision
	mirrorStats *revisionStats
}

// pick chooses the revision of name that answers r in e; ok is false when
// the model is not served there.
func (s *Server) pick(e env, name string, r *http.Request) (target, bool) {
	m, ok := s.state(name)
	if !ok {
		return target{}, false
	}
	if e == envStaging {
		return target{rev: m.staging}, m.staging != nil
	}
	p := m.prod
	if p == nil {
		return target{}, false
	}
	if p.canary != nil && s.toCanary(p.percent, r.Header.Get(HeaderRequestKey)) {
		return target{rev: p.canary, stats: p.canaryStats, window: p.start}, true
	}
	t := target{rev: p.stable, stats: p.stableStats, window: p.start}
	if p.mirror > 0 && s.random()*100 < float64(p.mirror) {
		t.mirror, t.mirrorStats = p.canary, p.canaryStats
	}
	return t, true
}

// toCanary decides the split: by the key's FNV-1a hash when there is a key,
// by the random source otherwise.
func (s *Server) toCanary(percent int, key string) bool {
	if key != "" {
		return StickyBucket(key) < percent
	}
	return s.random()*100 < float64(percent)
}

// StickyBucket is the bucket (0..99) of a request key: a request carrying
// HeaderRequestKey goes to the canary when its bucket is below the canary
// percent.
func StickyBucket(key string) int {
	h := uint32(2166136261) // FNV-1a, inline: hash/fnv allocates per call
	for i := 0; i < len(key); i++ {
		h = (h ^ uint32(key[i])) * 16777619
	}
	return int(h % 100)
}

// served returns the revision answering metadata requests for name in e:
// staging's revision or production's stable one.
func (s *Server) served(e env, name string) (*revision, *production, bool) {
	m, ok := s.state(name)
	if !ok {
		return nil, nil, false
	}
	if e == envStaging {
		return m.staging, nil, m.staging != nil
	}
	if m.prod == nil {
		return nil, nil, false
	}
	return m.prod.stable, m.prod, true
}

// modelHandler answers a GET about the model {name} served in e with the
// body answer returns, or 404 when e does not serve it.
func (s *Server) modelHandler(e env, answer func(name string, rev *revision, prod *production) any) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		name := r.PathValue("name")
		rev, prod, ok := s.served(e, name)
		if !ok {
			writeDataError(w, http.StatusNotFound, notServed(e, name))
			return
		}
		w.Header().Set(HeaderModelVersion, rev.dep.Version)
		writeJSON(w, http.StatusOK, answer(name, rev, prod))
	}
}

func notServed(e env, name string) string {
	if e == envStaging {
		return fmt.Sprintf("model %q is not served in staging", name)
	}
	return fmt.Sprintf("model %q is not served", name)
}
