package gateway_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/gateway"
)

// recent returns RecentRequests(n) as one JSON array.
func (e *testEnv) recent(n int) string {
	e.t.Helper()
	got, err := e.dep.RecentRequests(e.t.Context(), "iris", n)
	if err != nil {
		e.t.Fatalf("RecentRequests(%d): %v", n, err)
	}
	b, err := json.Marshal(got)
	if err != nil {
		e.t.Fatal(err)
	}
	return string(b)
}

var _ modelgate.RequestSampler = (*gateway.Deployer)(nil)

func TestRecentRequests(t *testing.T) {
	e := newTestEnv(t, func(o *gateway.Options) { o.RecentRequests = 5 })
	e.register("1", 1)
	e.register("2", 1)
	if got := e.recent(10); got != "[]" {
		t.Errorf("before any model: %s, want none", got)
	}
	e.mustSetStable("1")
	if got := e.recent(10); got != "[]" {
		t.Errorf("before any traffic: %s, want none", got)
	}
	if _, err := e.dep.DeployStaging(t.Context(), deployment("2"), 0); err != nil {
		t.Fatal(err)
	}

	post := func(path, body string) {
		t.Helper()
		if r := e.call(http.MethodPost, path, body, nil); r.Status != 200 {
			t.Fatalf("%s: %+v", path, r)
		}
	}
	post("/v1/models/iris:predict", `{"instances": [[1, 1], {"x": 2, "y": 2, "note": "kept as sent"}]}`)
	post("/staging/v1/models/iris:predict", `{"instances": [[99, 99]]}`) // staging is not production
	e.call(http.MethodPost, "/v1/models/iris:predict", `{"instances": [[98]]}`, nil)
	post("/v2/models/iris/infer", `{"inputs": [{"name": "x", "shape": [2], "datatype": "FP64", "data": [3, 4]},
		{"name": "y", "shape": [2], "datatype": "INT64", "data": [3, 4]}]}`)
	post("/v2/models/iris/infer", `{"inputs": [{"name": "input-0", "shape": [1, 2], "datatype": "FP64", "data": [5, 5]}]}`)

	want := `[[1,1],{"note":"kept as sent","x":2,"y":2},{"x":3,"y":3},{"x":4,"y":4},[5,5]]`
	if got := e.recent(100); got != want {
		t.Errorf("recent (newest last):\n got %s\nwant %s", got, want)
	}
	if got := e.recent(2); got != `[{"x":4,"y":4},[5,5]]` {
		t.Errorf("recent(2) = %s", got)
	}

	// The bound keeps the newest five, across requests and within one.
	post("/v1/models/iris:predict", `{"instances": [[6, 6], [7, 7]]}`)
	post("/v1/models/iris:predict", `{"instances": [[8, 8], [9, 9], [10, 10], [11, 11], [12, 12], [13, 13]]}`)
	if got := e.recent(100); got != `[[9,9],[10,10],[11,11],[12,12],[13,13]]` {
		t.Errorf("after the bound: %s", got)
	}

	r := e.call(http.MethodGet, "/admin/models/iris/recent?n=x", nil, nil)
	if r.Status != 400 || !strings.Contains(r.Body, `n must be a positive integer, not \"x\"`) {
		t.Errorf("bad n: %+v", r)
	}
}

// RecentBytes bounds the memory: the oldest go first, and an instance
// larger than the bound is not kept.
func TestRecentRequests_Bytes(t *testing.T) {
	e := newTestEnv(t, func(o *gateway.Options) { o.RecentBytes = 20 })
	e.register("1", 1)
	e.mustSetStable("1")
	for i := range 4 {
		e.call(http.MethodPost, "/v1/models/iris:predict", fmt.Sprintf(`{"instances": [[%d, 1000]]}`, i), nil)
	}
	e.call(http.MethodPost, "/v1/models/iris:predict", `{"instances": [{"x": 1, "y": 1, "padding": "longer than twenty bytes"}]}`, nil)
	if got := e.recent(10); got != `[[2,1000],[3,1000]]` {
		t.Errorf("recent = %s, want the two newest that fit in 20 bytes", got)
	}
}
