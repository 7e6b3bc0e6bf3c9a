package gateway_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"testing"
	"time"

	"github.com/modelgate/modelgate/gateway"
	"github.com/modelgate/modelgate/payload"
)

// predict posts one V1 row [x, y] to production and returns the answer's
// status and X-Request-Id; id, when not empty, is sent as X-Request-Id.
func (e *testEnv) predict(x, y float64, id string) (int, string) {
	e.t.Helper()
	body, _ := json.Marshal(map[string]any{"instances": []any{[]any{x, y}}})
	req := httptest.NewRequest(http.MethodPost, "/v1/models/iris:predict", bytes.NewReader(body))
	if id != "" {
		req.Header.Set(gateway.HeaderRequestID, id)
	}
	rec := httptest.NewRecorder()
	e.srv.Handler().ServeHTTP(rec, req)
	return rec.Code, rec.Header().Get(gateway.HeaderRequestID)
}

var uuidV4 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestActuals_JoinedActualsShowInObserve(t *testing.T) {
	var toCanary bool
	acts := payload.NewActuals()
	e := newTestEnv(t, func(o *gateway.Options) {
		routed(&toCanary)(o)
		o.Actuals = acts
	})
	e.register("1", 1) // predicts x - y
	e.register("2", 2) // predicts 2x - y
	e.mustSetStable("1")
	e.mustStartCanary("2", 50)

	// Stable: the client names its requests; predictions are i.
	for i := range 10 {
		id := fmt.Sprintf("order-%d", i)
		if status, got := e.predict(float64(i), 0, id); status != 200 || got != id {
			t.Fatalf("stable request %s: status %d, X-Request-Id %q; want 200 and the id echoed", id, status, got)
		}
	}
	// Canary: the gateway names them; predictions are 2i.
	toCanary = true
	var canaryIDs []string
	for i := range 10 {
		status, id := e.predict(float64(i), 0, "")
		if status != 200 || !uuidV4.MatchString(id) {
			t.Fatalf("canary request %d: status %d, X-Request-Id %q; want 200 and a generated UUID", i, status, id)
		}
		canaryIDs = append(canaryIDs, id)
	}
	if canaryIDs[0] == canaryIDs[1] {
		t.Fatalf("generated request ids repeat: %q", canaryIDs[0])
	}
	// Neither a failed request nor staging is recorded.
	e.call(http.MethodPost, "/v1/models/iris:predict", `{"instances": [[1]]}`, nil)
	if got := acts.Stats().Recorded; got != 20 {
		t.Errorf("recorded %d requests, want the 20 successful production ones", got)
	}

	// Actuals: stable off by 1 (actual i+1), canary off by i (actual i).
	var body []map[string]any
	for i := range 10 {
		body = append(body, map[string]any{"request_id": fmt.Sprintf("order-%d", i), "actual": i + 1},
			map[string]any{"request_id": canaryIDs[i], "actual": i})
	}
	body = append(body, map[string]any{"request_id": "unknown", "actual": 3})
	r := e.call(http.MethodPost, "/actuals", body, nil)
	if res := decode[payload.JoinResult](t, r); r.Status != 200 || res.Matched != 20 || res.Unmatched != 1 {
		t.Fatalf("POST /actuals = %d %s, want 20 matched and 1 unmatched", r.Status, r.Body)
	}

	w, err := e.metrics.Observe(t.Context(), "iris")
	if err != nil {
		t.Fatal(err)
	}
	s, c := w.Stable.Accuracy, w.Canary.Accuracy
	if s == nil || c == nil {
		t.Fatalf("observe has no accuracy: stable %v canary %v", s, c)
	}
	// Canary: Σ|2i - i| = 45 over 10, Σ|actual| = 45: WAPE 1.
	if s.Count != 10 || s.MAE() != 1 || s.WAPE() != 10.0/55 || c.Count != 10 || c.MAE() != 4.5 || c.WAPE() != 1 {
		t.Errorf("stable %+v (MAE %v, WAPE %v), canary %+v (MAE %v, WAPE %v); want MAE 1, WAPE 10/55 and MAE 4.5, WAPE 1",
			*s, s.MAE(), s.WAPE(), *c, c.MAE(), c.WAPE())
	}

	// A new split is a new window: nothing joined yet, and late actuals
	// for the old window's requests do not count in it.
	e.clock.Advance(time.Second) // windows are told apart by their start
	if err := e.dep.Promote(t.Context(), "iris", "2"); err != nil {
		t.Fatal(err)
	}
	e.predict(1, 0, "after")
	e.call(http.MethodPost, "/actuals", `[{"request_id": "order-1", "actual": 100}]`, nil)
	w, err = e.metrics.Observe(t.Context(), "iris")
	if err != nil {
		t.Fatal(err)
	}
	if a := w.Stable.Accuracy; a == nil || a.Count != 0 || w.Canary.Accuracy != nil {
		t.Errorf("after promotion: stable accuracy %+v, canary %+v; want an empty stable accuracy and none for the missing canary", a, w.Canary.Accuracy)
	}
}

func TestActuals_NotConfigured(t *testing.T) {
	e := newTestEnv(t, nil)
	e.register("1", 1)
	e.mustSetStable("1")
	if status, id := e.predict(1, 0, ""); status != 200 || id == "" {
		t.Errorf("predict: status %d, X-Request-Id %q; want an id even without actuals", status, id)
	}
	if r := e.call(http.MethodPost, "/actuals", `[{"request_id": "x", "actual": 1}]`, nil); r.Status != http.StatusNotFound {
		t.Errorf("POST /actuals without Options.Actuals: status %d, want 404", r.Status)
	}
	w, err := e.metrics.Observe(t.Context(), "iris")
	if err != nil {
		t.Fatal(err)
	}
	if w.Stable.Accuracy != nil {
		t.Errorf("accuracy %+v without actuals, want nil", w.Stable.Accuracy)
	}
}
