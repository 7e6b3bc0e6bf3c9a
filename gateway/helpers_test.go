package gateway_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/gateway"
)

// fakeModel is a function-field Model. Without FeaturesFn it reads the
// features "x" and "y" from map instances ("y" may come as the raw field
// "date", a YYYY-MM-DD string giving the day of the month) or from
// two-element arrays. Without PredictFn it predicts Weight*x - y, after
// advancing Clock by Latency(call number).
type fakeModel struct {
	Weight     float64
	Clock      *fakeClock
	Latency    func(call int) time.Duration
	FeaturesFn func(instances []any) ([][]float64, error)
	PredictFn  func(rows [][]float64) ([]float64, error)

	mu    sync.Mutex
	calls int
}

func (m *fakeModel) FeatureNames() []string { return []string{"x", "y"} }

func (m *fakeModel) Features(instances []any) ([][]float64, error) {
	if m.FeaturesFn != nil {
		return m.FeaturesFn(instances)
	}
	rows := make([][]float64, len(instances))
	for i, inst := range instances {
		row, err := fakeRow(inst)
		if err != nil {
			return nil, modelgate.Errorf(modelgate.EINVALID, "instance %d: %s", i, err)
		}
		rows[i] = row
	}
	return rows, nil
}

func fakeRow(inst any) ([]float64, error) {
	switch inst := inst.(type) {
	case map[string]any:
		x, ok := inst["x"].(float64)
		if !ok {
			return nil, fmt.Errorf(`feature "x" is missing or not a number`)
		}
		if y, ok := inst["y"].(float64); ok {
			return []float64{x, y}, nil
		}
		date, ok := inst["date"].(string)
		if !ok {
			return nil, fmt.Errorf(`feature "y" (or field "date") is missing`)
		}
		d, err := time.Parse(time.DateOnly, date)
		if err != nil {
			return nil, fmt.Errorf("field \"date\": %v", err)
		}
		return []float64{x, float64(d.Day())}, nil
	case []any:
		if len(inst) != 2 {
			return nil, fmt.Errorf("has %d values, want 2", len(inst))
		}
		x, ok1 := inst[0].(float64)
		y, ok2 := inst[1].(float64)
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("values must be numbers")
		}
		return []float64{x, y}, nil
	}
	return nil, fmt.Errorf("is neither an object nor an array")
}

func (m *fakeModel) Predict(rows [][]float64) ([]float64, error) {
	m.mu.Lock()
	call := m.calls
	m.calls++
	m.mu.Unlock()
	if m.Clock != nil && m.Latency != nil {
		m.Clock.Advance(m.Latency(call))
	}
	if m.PredictFn != nil {
		return m.PredictFn(rows)
	}
	out := make([]float64, len(rows))
	for i, r := range rows {
		out[i] = m.Weight*r[0] - r[1]
	}
	return out, nil
}

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// testEnv is a gateway served by httptest with fake models registered by
// directory ("/models/<version>").
type testEnv struct {
	t       *testing.T
	clock   *fakeClock
	srv     *gateway.Server
	ts      *httptest.Server
	dep     *gateway.Deployer
	metrics *gateway.MetricsSource

	mu     sync.Mutex
	models map[string]*fakeModel
	loads  map[string]int // Loader calls by directory
}

// newTestEnv opens a gateway; edit adjusts the options before NewServer.
func newTestEnv(t *testing.T, edit func(*gateway.Options)) *testEnv {
	t.Helper()
	e := &testEnv{t: t, clock: newFakeClock(), models: map[string]*fakeModel{}, loads: map[string]int{}}
	opts := gateway.Options{Loader: e.load, Now: e.clock.Now, DirDigest: fakeDigest}
	if edit != nil {
		edit(&opts)
	}
	e.srv = mustOpenServer(t, opts)
	e.ts = httptest.NewServer(e.srv.Handler())
	t.Cleanup(e.ts.Close)
	e.dep = gateway.NewDeployer(e.ts.URL, e.ts.Client())
	e.dep.PollInterval = time.Millisecond
	e.metrics = gateway.NewMetricsSource(e.ts.URL, e.ts.Client())
	return e
}

func mustOpenServer(tb testing.TB, opts gateway.Options) *gateway.Server {
	tb.Helper()
	srv := gateway.NewServer(opts)
	if err := srv.Open(); err != nil {
		tb.Fatalf("Open: %v", err)
	}
	tb.Cleanup(func() { srv.Close() })
	return srv
}

func (e *testEnv) load(dir string) (gateway.Model, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.loads[dir]++
	m, ok := e.models[dir]
	if !ok {
		return nil, fmt.Errorf("open %s/MLmodel: %w", dir, fs.ErrNotExist)
	}
	return m, nil
}

// register makes version loadable from /models/<version>; the model is
// Weight*x - y with Weight = weight.
func (e *testEnv) register(version string, weight float64) *fakeModel {
	m := &fakeModel{Weight: weight, Clock: e.clock}
	e.mu.Lock()
	e.models["/models/"+version] = m
	e.mu.Unlock()
	return m
}

func (e *testEnv) loadCount(version string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.loads["/models/"+version]
}

// fakeDigest is the digest of the fake directory /models/<version>,
// "sha-<version>" (see deployment), and the real one of any other.
func fakeDigest(dir string) (string, error) {
	if v, ok := strings.CutPrefix(dir, "/models/"); ok {
		return "sha-" + v, nil
	}
	return modelgate.DirDigest(dir)
}

func deployment(version string) modelgate.Deployment {
	return modelgate.Deployment{Model: "iris", Version: version, ModelDir: "/models/" + version, Digest: "sha-" + version}
}

// mustSetStable seeds production with version at 100%.
func (e *testEnv) mustSetStable(version string) {
	e.t.Helper()
	if err := e.dep.SetStable(e.t.Context(), deployment(version)); err != nil {
		e.t.Fatalf("SetStable(%s): %v", version, err)
	}
}

func (e *testEnv) mustStartCanary(version string, percent int) {
	e.t.Helper()
	if err := e.dep.StartCanary(e.t.Context(), deployment(version), percent); err != nil {
		e.t.Fatalf("StartCanary(%s, %d): %v", version, percent, err)
	}
}

// response is one answer of the gateway.
type response struct {
	Status  int
	Version string // X-Model-Version
	Body    string
}

// call sends body (JSON-encoded unless a string) to the handler directly,
// without the network, which keeps 10k-request tests fast.
func (e *testEnv) call(method, path string, body any, header http.Header) response {
	e.t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	default:
		buf, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		r = bytes.NewReader(buf)
	}
	req := httptest.NewRequest(method, path, r)
	for k, v := range header {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	e.srv.Handler().ServeHTTP(rec, req)
	return response{Status: rec.Code, Version: rec.Header().Get(gateway.HeaderModelVersion), Body: strings.TrimSpace(rec.Body.String())}
}

// decode unmarshals a response body.
func decode[T any](t *testing.T, r response) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(r.Body), &v); err != nil {
		t.Fatalf("decode %q: %v", r.Body, err)
	}
	return v
}

// errorOf returns the "error" field of a data plane error answer.
func errorOf(t *testing.T, r response) string {
	t.Helper()
	return decode[struct{ Error string }](t, r).Error
}
