package payload_test

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/modelgate/modelgate/judge"
	"github.com/modelgate/modelgate/payload"
)

// postActuals posts body to a's handler and returns the status and answer.
func postActuals(t *testing.T, h http.Handler, body string) (int, payload.JoinResult) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/actuals", strings.NewReader(body)))
	var res payload.JoinResult
	if rec.Code == http.StatusOK {
		if err := json.Unmarshal(rec.Body.Bytes(), &res); err != nil {
			t.Fatalf("decode %q: %v", rec.Body, err)
		}
	}
	return rec.Code, res
}

var approx = cmpopts.EquateApprox(0, 1e-12)

func TestActuals_JoinsByRequestIDPerVersion(t *testing.T) {
	clock := newFakeClock()
	a := payload.NewActuals()
	a.Now = clock.Now
	w0 := clock.Now()
	preds := []judge.PredictionRecord{
		{RequestID: "a", Version: "1", Value: 10}, {RequestID: "b", Version: "1", Value: 20},
		{RequestID: "batch", Version: "1", Value: 5}, {RequestID: "batch", Version: "1", Value: 7},
		{RequestID: "c", Version: "2", Value: 30}, {RequestID: "d", Version: "2", Value: 5},
	}
	byID := map[string][]float64{}
	var order []string
	for _, p := range preds {
		if byID[p.RequestID] == nil {
			order = append(order, p.RequestID)
		}
		byID[p.RequestID] = append(byID[p.RequestID], p.Value)
	}
	for _, id := range order {
		a.Record("demand", map[bool]string{true: "2", false: "1"}[id == "c" || id == "d"], w0, id, byID[id])
	}

	status, res := postActuals(t, a, `[{"request_id": "a", "actual": 12}, {"request_id": "b", "actual": 20},
		{"request_id": "c", "actual": 20}, {"request_id": "zz", "actual": 1}, {"request_id": "batch", "actual": 6}]`)
	if status != http.StatusOK || res != (payload.JoinResult{Received: 5, Matched: 4, Unmatched: 1}) {
		t.Fatalf("POST /actuals = %d %+v, want 200 with 4 matched, 1 unmatched", status, res)
	}
	// The same figures as the batch join over the same records.
	want, unmatched := judge.JoinActuals(preds, []judge.Actual{{RequestID: "a", Value: 12}, {RequestID: "b", Value: 20},
		{RequestID: "c", Value: 20}, {RequestID: "zz", Value: 1}, {RequestID: "batch", Value: 6}})
	for _, v := range []string{"1", "2"} {
		if diff := cmp.Diff(want[v], *a.Accuracy("demand", v, w0), approx); diff != "" {
			t.Errorf("version %s accuracy differs from judge.JoinActuals (-want +got):\n%s", v, diff)
		}
	}
	if unmatched != res.Unmatched {
		t.Errorf("unmatched %d, judge.JoinActuals says %d", res.Unmatched, unmatched)
	}
	v1, v2 := a.Accuracy("demand", "1", w0), a.Accuracy("demand", "2", w0)
	if v1.Count != 4 || v1.MAE() != 1 || math.Abs(v1.WAPE()-4.0/44) > 1e-12 || v2.Count != 1 || v2.MAE() != 10 || v2.WAPE() != 0.5 {
		t.Errorf("v1 MAE %v WAPE %v (n %d), v2 MAE %v WAPE %v (n %d); want 1, 4/44 (4) and 10, 0.5 (1)",
			v1.MAE(), v1.WAPE(), v1.Count, v2.MAE(), v2.WAPE(), v2.Count)
	}

	// A repeated actual replaces the earlier one; one object and "value" work too.
	postActuals(t, a, `{"request_id": "a", "actual": 10}`)
	postActuals(t, a, `{"request_id": "d", "value": 5}`)
	v1, v2 = a.Accuracy("demand", "1", w0), a.Accuracy("demand", "2", w0)
	if v1.Count != 4 || math.Abs(v1.MAE()-0.5) > 1e-12 || v2.Count != 2 || v2.MAE() != 5 {
		t.Errorf("after replacing: v1 %+v (MAE %v), v2 %+v (MAE %v); want MAE 0.5 over 4, 5 over 2", v1, v1.MAE(), v2, v2.MAE())
	}
}

func TestActuals_RejectsMalformedBatches(t *testing.T) {
	a := payload.NewActuals()
	a.Record("m", "1", time.Time{}, "a", []float64{1})
	for _, body := range []string{``, `nope`, `[{"request_id": "a"}]`, `[{"actual": 1}]`, `[{"request_id": "a", "actual": 2}, {"request_id": "b", "actual": "x"}]`,
		`{"request_id": "a", "actual": 1, "value": 2}`} {
		if status, _ := postActuals(t, a, body); status != http.StatusBadRequest {
			t.Errorf("body %q: status %d, want 400", body, status)
		}
	}
	if got := a.Accuracy("m", "1", time.Time{}); got.Count != 0 {
		t.Errorf("a rejected batch was joined: %+v", got)
	}
	rec := httptest.NewRecorder()
	a.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/actuals", nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("GET: status %d, want 405", rec.Code)
	}
}

func TestActuals_NewWindowDropsEarlierOnes(t *testing.T) {
	clock := newFakeClock()
	a := payload.NewActuals()
	a.Now = clock.Now
	w0, w1 := clock.Now(), clock.Now().Add(time.Minute)
	a.Record("m", "1", w0, "old", []float64{1})
	a.Record("m", "1", w1, "new", []float64{2})
	a.Record("m", "1", w0, "late", []float64{3}) // a request of the old split answered after the change
	res := a.Join(payload.Actual{RequestID: "old", Value: 0}, payload.Actual{RequestID: "new", Value: 0}, payload.Actual{RequestID: "late", Value: 0})
	if res != (payload.JoinResult{Received: 3, Matched: 1, Stale: 1, Unmatched: 1}) {
		t.Errorf("join = %+v, want 1 matched, 1 stale (old), 1 unmatched (late, not kept)", res)
	}
	if got := a.Accuracy("m", "1", w1); got.Count != 1 || got.SumAbsError != 2 {
		t.Errorf("new window accuracy = %+v, want one error of 2", got)
	}
	if got := a.Accuracy("m", "1", w0); got.Count != 0 {
		t.Errorf("old window accuracy = %+v, want dropped", got)
	}
}

func TestActuals_BoundedMemory(t *testing.T) {
	clock := newFakeClock()
	a := payload.NewActuals()
	a.Now = clock.Now
	a.MaxPredictions = 4
	a.MaxAge = time.Hour
	for i := range 3 {
		a.Record("m", "1", time.Time{}, fmt.Sprint(i), []float64{1, 2}) // two rows each
	}
	if st := a.Stats(); st.Kept != 2 || st.Rows != 4 || st.Evicted != 1 || st.Recorded != 3 {
		t.Errorf("over MaxPredictions: %+v, want 2 kept (4 rows), 1 evicted", st)
	}
	if res := a.Join(payload.Actual{RequestID: "0", Value: 1}); res.Unmatched != 1 {
		t.Errorf("the evicted request joined: %+v", res)
	}
	a.Join(payload.Actual{RequestID: "1", Value: 1})
	clock.Advance(time.Hour + time.Second)
	st := a.Stats()
	if st.Kept != 0 || st.Expired != 1 {
		t.Errorf("after MaxAge: %+v, want nothing kept and 1 expired (the joined one is not counted)", st)
	}
	if got := a.Accuracy("m", "1", time.Time{}); got.Count != 2 {
		t.Errorf("joined accuracy must outlive its predictions: %+v", got)
	}
}

func TestReceiver_RecordsPredictionsForActuals(t *testing.T) {
	acts := payload.NewActuals()
	r, _, url := newReceiver(t, func(r *payload.Receiver) { r.Actuals = acts })
	sendTraffic(t, url)
	// Every stable request predicted 10+i; the actual is 10+i+1: error 1.
	// Every canary request predicted 2i and 2i+1; the actual is 2i: errors 0 and 1.
	var body []string
	for i := range 50 {
		body = append(body, fmt.Sprintf(`{"request_id": "s-%d", "actual": %d}`, i, 11+i))
	}
	for i := range 30 {
		body = append(body, fmt.Sprintf(`{"request_id": "c-%d", "actual": %d}`, i, 2*i))
	}
	if status, res := postActuals(t, acts, "["+strings.Join(body, ",")+"]"); status != 200 || res.Matched != 80 {
		t.Fatalf("POST /actuals = %d %+v, want 80 matched", status, res)
	}
	s, c := r.Window("1", "2")
	if s.Accuracy == nil || c.Accuracy == nil {
		t.Fatal("no accuracy with Actuals set")
	}
	if s.Accuracy.Count != 50 || s.Accuracy.MAE() != 1 || c.Accuracy.Count != 60 || c.Accuracy.MAE() != 0.5 {
		t.Errorf("stable %+v (MAE %v), canary %+v (MAE %v); want MAE 1 over 50, 0.5 over 60",
			*s.Accuracy, s.Accuracy.MAE(), *c.Accuracy, c.Accuracy.MAE())
	}
	// After the split changes, the new window starts with no joined actuals.
	if s, _ := r.Window("2", ""); s.Accuracy == nil || s.Accuracy.Count != 0 {
		t.Errorf("after promotion: %+v, want an empty accuracy", s.Accuracy)
	}
}
