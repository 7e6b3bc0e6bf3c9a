package smoke_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/smoke"
)

// badServer is a purpose-built endpoint answering V1 predict, V2 infer and
// V2 metadata (one output "predict" FP64 [-1]); answer writes the body for
// n instances (v2 tells the protocol).
type badServer struct {
	status int
	delay  time.Duration
	answer func(n int, v2 bool) string
}

func (b badServer) start(t *testing.T) modelgate.Endpoint {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			_, _ = w.Write([]byte(`{"name":"m","outputs":[{"name":"predict","datatype":"FP64","shape":[-1]}]}`))
			return
		}
		var req struct {
			Instances []any `json:"instances"`
			Inputs    []struct {
				Shape []int64 `json:"shape"`
			} `json:"inputs"`
		}
		_ = json.NewDecoder(r.Body).Decode(&req)
		n, v2 := len(req.Instances), strings.HasSuffix(r.URL.Path, "/infer")
		if v2 && len(req.Inputs) > 0 {
			n = int(req.Inputs[0].Shape[0])
		}
		time.Sleep(b.delay)
		if b.status != 0 {
			http.Error(w, `{"error":"boom"}`, b.status)
			return
		}
		_, _ = w.Write([]byte(b.answer(n, v2)))
	}))
	t.Cleanup(srv.Close)
	return modelgate.Endpoint{URL: srv.URL, Name: "m"}
}

// values answers n copies of v (a JSON token) as FP64 (or datatype dt) with shape [n+extra].
func values(v string, dt string, extra int) func(int, bool) string {
	return func(n int, v2 bool) string {
		vals := strings.TrimSuffix(strings.Repeat(v+",", n+extra), ",")
		if !v2 {
			return `{"predictions":[` + vals + `]}`
		}
		return fmt.Sprintf(`{"model_name":"m","outputs":[{"name":"predict","datatype":%q,"shape":[%d],"data":[%s]}]}`, dt, n+extra, vals)
	}
}

func ptr(f float64) *float64 { return &f }

func TestRequests_BadEndpoints(t *testing.T) {
	tests := []struct {
		name   string
		server badServer
		gate   smoke.Requests
		want   map[string]string // protocol -> substring of the failure; "" means pass
	}{
		{"OK", badServer{answer: values("3", "FP64", 0)}, smoke.Requests{}, map[string]string{"v1": "", "v2": ""}},
		{"ServerError", badServer{status: 500}, smoke.Requests{},
			map[string]string{"v1": "v1 status failed: expected HTTP 200, observed HTTP 500", "v2": "v2 status failed: expected HTTP 200, observed HTTP 500"}},
		{"WrongShape", badServer{answer: values("3", "FP64", 1)}, smoke.Requests{},
			map[string]string{"v1": "v1 structure failed: expected \"predictions\": one number per instance, observed 2 predictions for 1 instances",
				"v2": `v2 structure failed: expected outputs "predict" FP64 [-1] with one value per instance, observed output "predict" FP64 [2] for 1 instances`}},
		{"WrongDatatype", badServer{answer: values(`"x"`, "INT64", 0)}, smoke.Requests{},
			map[string]string{"v1": "v1 structure failed: expected \"predictions\": one number per instance, observed answer of",
				"v2": `v2 structure failed: expected outputs "predict" FP64 [-1] with one value per instance, observed output "predict" INT64 [1], datatype INT64 instead of FP64`}},
		{"NaN", badServer{answer: values("NaN", "FP64", 0)}, smoke.Requests{},
			map[string]string{"v1": "v1 finite failed: expected finite numbers, observed prediction 0 is NaN",
				"v2": "v2 finite failed: expected finite numbers, observed prediction 0 is NaN"}},
		{"Null", badServer{answer: values("null", "FP64", 0)}, smoke.Requests{},
			map[string]string{"v1": "v1 finite failed", "v2": "v2 finite failed"}},
		{"OutOfBounds", badServer{answer: values("1e6", "FP64", 0)}, smoke.Requests{Min: ptr(0), Max: ptr(10000)},
			map[string]string{"v1": "v1 bounds failed: expected predictions within [0, 10000], observed prediction 0 is 1e+06",
				"v2": "v2 bounds failed: expected predictions within [0, 10000], observed prediction 0 is 1e+06"}},
		{"Slow", badServer{delay: 3 * time.Millisecond, answer: values("3", "FP64", 0)}, smoke.Requests{P95Max: time.Millisecond},
			map[string]string{"v1": "v1 latency_p95 failed: expected p95 below 1ms over 10 requests after 1 warm-up, observed p95 ",
				"v2": "v2 latency_p95 failed: expected p95 below 1ms over 10 requests after 1 warm-up, observed p95 "}},
	}
	for _, tt := range tests {
		for _, proto := range []string{"v1", "v2"} {
			t.Run(tt.name+"/"+proto, func(t *testing.T) {
				g := tt.gate
				g.Count, g.Warmup, g.Protocols = 10, 1, []string{proto}
				r, err := g.Check(context.Background(), tt.server.start(t), modelgate.Candidate{})
				if err != nil {
					t.Fatal(err)
				}
				want := tt.want[proto]
				if want == "" {
					if !r.Passed {
						t.Fatalf("failed: %v", r.Failures)
					}
					return
				}
				if r.Passed || !strings.Contains(strings.Join(r.Failures, "\n"), want) {
					t.Fatalf("failures:\n%s\nwant one containing %q", strings.Join(r.Failures, "\n"), want)
				}
			})
		}
	}
}

func TestRequests_Evidence(t *testing.T) {
	g := &smoke.Requests{Count: 5, Warmup: 1, Protocols: []string{"v1", "v2"}}
	r, err := g.Check(context.Background(), badServer{answer: values("3", "FP64", 0)}.start(t), modelgate.Candidate{})
	if err != nil || !r.Passed {
		t.Fatalf("%v %v", err, r.Failures)
	}
	ev, err := smoke.RequestsOf(r)
	if err != nil {
		t.Fatal(err)
	}
	if len(ev.Checks) != 10 || ev.Latency["v2"].Requests != 5 {
		t.Fatalf("evidence = %+v", ev)
	}
	for _, c := range ev.Checks {
		if c.Expected == "" || c.Observed == "" || !c.Passed {
			t.Errorf("check %+v lacks expected or observed", c)
		}
	}
}
