package payload_test

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/DataDog/sketches-go/ddsketch"
	"github.com/DataDog/sketches-go/ddsketch/store"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/payload"
)

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)} }

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

// event is one CloudEvent as KServe's logger sends it in binary mode.
type event struct {
	typ, id, version, body string
	service                string // Ce-Inferenceservicename; default demand-forecast
}

// mustPost sends e over HTTP with the logger's headers (lowercase on the
// wire, as sdk-go may send them) and returns the status.
func mustPost(t *testing.T, url string, e event) int {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, url, strings.NewReader(e.body))
	if err != nil {
		t.Fatal(err)
	}
	svc := e.service
	if svc == "" {
		svc = "demand-forecast"
	}
	h := map[string]string{
		"ce-specversion": "1.0", "ce-id": e.id, "ce-type": e.typ, "ce-source": "http://localhost:9081/",
		"ce-time": "2026-03-01T12:00:00Z", "ce-inferenceservicename": svc, "ce-namespace": "ml",
		"ce-component": "predictor", "ce-endpoint": "", "ce-metadata": "{}", "content-type": "application/json",
	}
	if e.version != "" {
		h["ce-annotations"] = fmt.Sprintf(`{"modelgate.dev/version":%q,"modelgate.dev/model":"demand-forecast"}`, e.version)
	}
	for k, v := range h {
		req.Header[k] = []string{v}
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode
}

func request(id, version, body string) event {
	return event{typ: payload.TypeRequest, id: id, version: version, body: body}
}

func response(id, version, body string) event {
	return event{typ: payload.TypeResponse, id: id, version: version, body: body}
}

func newReceiver(t *testing.T, edit func(*payload.Receiver)) (*payload.Receiver, *fakeClock, string) {
	t.Helper()
	clock := newFakeClock()
	r := payload.NewReceiver("demand-forecast")
	r.Service = "demand-forecast"
	r.Now = clock.Now
	if edit != nil {
		edit(r)
	}
	ts := httptest.NewServer(r)
	t.Cleanup(ts.Close)
	return r, clock, ts.URL
}

// sendTraffic logs 50 V1 requests answered by version 1 and 30 two-row V2
// requests answered by version 2 (every other one response first).
func sendTraffic(t *testing.T, url string) {
	t.Helper()
	for i := range 50 {
		id := fmt.Sprintf("s-%d", i)
		req := fmt.Sprintf(`{"instances": [{"store_id": %d, "date": "2025-01-15", "promo": %d}]}`, i, i%2)
		mustOK(t, url, request(id, "1", req))
		mustOK(t, url, response(id, "1", fmt.Sprintf(`{"predictions": [%d]}`, 10+i)))
	}
	for i := range 30 {
		id := fmt.Sprintf("c-%d", i)
		req := request(id, "2", fmt.Sprintf(`{"id": %q, "inputs": [
			{"name": "store_id", "shape": [2], "datatype": "INT64", "data": [%d, %d]},
			{"name": "promo", "shape": [2, 1], "datatype": "INT64", "data": [[1], [0]]},
			{"name": "date", "shape": [2], "datatype": "BYTES", "data": ["2025-01-15", "2025-01-16"]}]}`, id, 2*i, 2*i+1))
		resp := response(id, "2", fmt.Sprintf(`{"model_name": "demand-forecast", "model_version": "2", "id": %q,
			"outputs": [{"name": "predict", "shape": [2], "datatype": "FP64", "data": [%d, %d]}]}`, id, 2*i, 2*i+1))
		if i%2 == 1 {
			req, resp = resp, req
		}
		mustOK(t, url, req)
		mustOK(t, url, resp)
	}
}

func mustOK(t *testing.T, url string, e event) {
	t.Helper()
	if got := mustPost(t, url, e); got != http.StatusOK {
		t.Fatalf("post %s %s: status %d, want 200", e.typ, e.id, got)
	}
}

func TestReceiver_PairsAndMeasuresTwoVersions(t *testing.T) {
	r, _, url := newReceiver(t, nil)
	sendTraffic(t, url)

	st := r.Stats()
	if st.Events != 160 || st.Paired != 80 || st.Pending != 0 || st.Malformed != 0 || st.Unparsed != 0 {
		t.Errorf("stats = %+v, want 160 events, 80 paired, nothing pending or refused", st)
	}
	s, c := r.Window("1", "2")
	if s.Version != "1" || c.Version != "2" || s.Requests != 50 || c.Requests != 30 {
		t.Fatalf("stable %s/%d canary %s/%d, want 1/50 and 2/30", s.Version, s.Requests, c.Version, c.Requests)
	}
	if s.Errors != 0 || s.LatencyMS.Count != 0 || s.Accuracy != nil {
		t.Errorf("errors, latency and accuracy must stay empty without metrics and actuals: %+v", s)
	}
	checks := []struct {
		what       string
		d          modelgate.Distribution
		count      int64
		sum        float64
		min, max   float64
		p50, exact float64 // p50 and the exact median, compared at 1%
	}{
		{"stable predictions", s.Predictions, 50, 1725, 10, 59, s.Predictions.P50, 34},
		{"stable store_id", s.Features["store_id"], 50, 1225, 0, 49, s.Features["store_id"].P50, 24},
		{"stable promo", s.Features["promo"], 50, 25, 0, 1, 0, 0},
		{"canary predictions", c.Predictions, 60, 1770, 0, 59, c.Predictions.P50, 29},
		{"canary store_id", c.Features["store_id"], 60, 1770, 0, 59, 0, 0},
		{"canary promo", c.Features["promo"], 60, 30, 0, 1, 0, 0},
	}
	for _, ck := range checks {
		d := ck.d
		if d.Count != ck.count || d.Sum != ck.sum || d.Min != ck.min || d.Max != ck.max {
			t.Errorf("%s = count %d sum %v min %v max %v, want %d %v %v %v", ck.what, d.Count, d.Sum, d.Min, d.Max, ck.count, ck.sum, ck.min, ck.max)
		}
		if math.Abs(ck.p50-ck.exact) > 0.011*ck.exact+1 { // rank ±1 at this size
			t.Errorf("%s p50 = %v, want about %v", ck.what, ck.p50, ck.exact)
		}
		checkSketch(t, ck.what, d)
	}
	if _, ok := s.Features["date"]; ok {
		t.Errorf("the string field date became a feature: %v", s.Features["date"])
	}
}

// checkSketch decodes d.Sketch and compares it with d's figures.
func checkSketch(t *testing.T, what string, d modelgate.Distribution) {
	t.Helper()
	sk, err := ddsketch.DecodeDDSketch(d.Sketch, store.BufferedPaginatedStoreConstructor, nil)
	if err != nil {
		t.Fatalf("%s: decode sketch: %v", what, err)
	}
	if got := sk.GetCount(); got != float64(d.Count) {
		t.Errorf("%s: sketch count = %v, want %d", what, got, d.Count)
	}
	if p95, err := sk.GetValueAtQuantile(0.95); err != nil || p95 != d.P95 {
		t.Errorf("%s: sketch p95 = %v (%v), want %v", what, p95, err, d.P95)
	}
}

func TestReceiver_UnpairedEventsExpire(t *testing.T) {
	r, clock, url := newReceiver(t, nil)
	mustOK(t, url, request("lonely", "1", `{"instances": [[1, 2]]}`))
	mustOK(t, url, response("orphan", "2", `{"predictions": [3]}`))
	if st := r.Stats(); st.Pending != 2 {
		t.Fatalf("pending = %d, want 2", st.Pending)
	}
	clock.Advance(payload.DefaultTTL + time.Second)
	if st := r.Stats(); st.Pending != 0 || st.Expired != 2 || st.Paired != 0 {
		t.Fatalf("after the TTL: %+v, want 2 expired, none pending or paired", st)
	}
	// The late half finds nothing to pair with and waits in turn.
	mustOK(t, url, response("lonely", "1", `{"predictions": [3]}`))
	if st := r.Stats(); st.Pending != 1 || st.Paired != 0 {
		t.Errorf("late half: %+v, want 1 pending, none paired", st)
	}
	if s, _ := r.Window("1", ""); s.Requests != 0 {
		t.Errorf("stable counted %d requests from unpaired events", s.Requests)
	}
}

func TestReceiver_MaxPendingEvictsOldest(t *testing.T) {
	r, _, url := newReceiver(t, func(r *payload.Receiver) { r.MaxPending = 3 })
	for i := range 5 {
		mustOK(t, url, request(fmt.Sprint(i), "1", `{"instances": [[1]]}`))
	}
	// 0 and 1 were evicted; 0's response waits in turn and evicts 2.
	mustOK(t, url, response("0", "1", `{"predictions": [1]}`))
	mustOK(t, url, response("4", "1", `{"predictions": [1]}`)) // kept: pairs
	st := r.Stats()
	if st.Evicted != 3 || st.Paired != 1 || st.Pending != 2 {
		t.Errorf("stats = %+v, want 3 evicted, 1 paired, 2 pending (3 and 0's response)", st)
	}
}

func TestReceiver_RefusesAndIgnores(t *testing.T) {
	r, _, url := newReceiver(t, nil)
	cases := []struct {
		name string
		e    event
		want int
	}{
		{"NoID", request("", "1", `{"instances": [[1]]}`), http.StatusBadRequest},
		{"UnknownType", event{typ: "org.kubeflow.serving.inference.explain", id: "x", version: "1", body: `{}`}, http.StatusBadRequest},
		{"NotJSON", request("y", "1", `instances`), http.StatusBadRequest},
		{"NoInstances", request("z", "1", `{"parameters": {}}`), http.StatusBadRequest},
		{"OtherService", event{typ: payload.TypeRequest, id: "o", version: "1", body: `{"instances": [[1]]}`, service: "other"}, http.StatusOK},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := mustPost(t, url, tc.e); got != tc.want {
				t.Errorf("status %d, want %d", got, tc.want)
			}
		})
	}
	// Paired but without a version annotation: counted, not measured.
	mustOK(t, url, request("nv", "", `{"instances": [[1]]}`))
	mustOK(t, url, response("nv", "", `{"predictions": [1]}`))
	// Non-numeric predictions: the request's features still count.
	mustOK(t, url, request("cls", "1", `{"instances": [[5]]}`))
	mustOK(t, url, response("cls", "1", `{"predictions": ["setosa"]}`))
	st := r.Stats()
	if st.Malformed != 4 || st.Ignored != 1 || st.NoVersion != 1 || st.Unparsed != 1 || st.Paired != 1 {
		t.Errorf("stats = %+v, want 4 malformed, 1 ignored, 1 without version, 1 unparsed, 1 paired", st)
	}
	if s, _ := r.Window("1", ""); s.Features["feature_0"].Count != 1 || s.Predictions.Count != 0 {
		t.Errorf("stable = %+v, want one feature value and no prediction", s)
	}
}

func TestReceiver_StructuredModeIsRefused(t *testing.T) {
	r := payload.NewReceiver("m")
	req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(`{"specversion": "1.0", "id": "1"}`))
	req.Header.Set("Content-Type", "application/cloudevents+json; charset=utf-8")
	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, req)
	if rec.Code != http.StatusUnsupportedMediaType {
		t.Errorf("status %d, want 415", rec.Code)
	}
}

func TestReceiver_FeaturesFunctionAndAnnotationKey(t *testing.T) {
	r, _, url := newReceiver(t, func(r *payload.Receiver) {
		r.VersionAnnotation = "modelgate.dev/model" // any listed annotation works
		r.Features = func(version string, instances []any) ([]string, [][]float64, error) {
			rows := make([][]float64, len(instances))
			for i := range instances {
				rows[i] = []float64{float64(i), 7, 8}
			}
			return []string{"row", "seven"}, rows, nil
		}
	})
	mustOK(t, url, request("a", "ignored", `{"instances": [{"x": 1}, {"x": 2}]}`))
	mustOK(t, url, response("a", "ignored", `{"predictions": [1, 2]}`))
	s, _ := r.Window("demand-forecast", "")
	if s.Requests != 1 || s.Features["row"].Sum != 1 || s.Features["seven"].Sum != 14 || s.Features["feature_2"].Sum != 16 {
		t.Errorf("stable = %+v", s.Features)
	}
	if _, ok := s.Features["x"]; ok {
		t.Error("raw field x measured although Features is set")
	}
}

func TestReceiver_WindowRestartsWhenTheSplitChanges(t *testing.T) {
	r, _, url := newReceiver(t, nil)
	sendTraffic(t, url)
	if s, c := r.Window("1", "2"); s.Requests != 50 || c.Requests != 30 {
		t.Fatalf("first look: %d/%d, want what arrived before it (50/30)", s.Requests, c.Requests)
	}
	if s, c := r.Window("1", "2"); s.Requests != 50 || c.Requests != 30 {
		t.Fatalf("same split: %d/%d, want 50/30", s.Requests, c.Requests)
	}
	s, c := r.Window("2", "") // promoted
	if s.Version != "2" || s.Requests != 0 || c.Version != "" {
		t.Errorf("after promotion: stable %+v canary %+v, want an empty stable 2 and no canary", s, c)
	}
}

// fakeMetrics is a function-field modelgate.MetricsSource.
type fakeMetrics func(ctx context.Context, model string) (*modelgate.Window, error)

func (f fakeMetrics) Observe(ctx context.Context, model string) (*modelgate.Window, error) {
	return f(ctx, model)
}

func TestMetricsSource_MergesPayloadFigures(t *testing.T) {
	r, _, url := newReceiver(t, nil)
	sendTraffic(t, url)
	prom := fakeMetrics(func(_ context.Context, model string) (*modelgate.Window, error) {
		return &modelgate.Window{Model: model,
			Stable: modelgate.RevisionStats{Version: "1", Requests: 900, Errors: 9, LatencyMS: modelgate.Distribution{Count: 900, P95: 40}},
			Canary: modelgate.RevisionStats{Version: "2", Requests: 100, Errors: 1}}, nil
	})
	w, err := payload.MetricsSource{Metrics: prom, Receiver: r}.Observe(t.Context(), "demand-forecast")
	if err != nil {
		t.Fatal(err)
	}
	s, c := w.Stable, w.Canary
	if s.Requests != 900 || s.Errors != 9 || s.LatencyMS.P95 != 40 || c.Requests != 100 || c.Errors != 1 {
		t.Errorf("requests, errors and latency must come from metrics: %+v / %+v", s, c)
	}
	if s.Predictions.Count != 50 || c.Predictions.Count != 60 || c.Features["store_id"].Count != 60 {
		t.Errorf("predictions %d/%d, canary store_id %d: want 50/60/60", s.Predictions.Count, c.Predictions.Count, c.Features["store_id"].Count)
	}
	other, _ := payload.MetricsSource{Metrics: prom, Receiver: r}.Observe(t.Context(), "other-model")
	if other.Stable.Predictions.Count != 0 {
		t.Error("another model's window got this receiver's figures")
	}
}
