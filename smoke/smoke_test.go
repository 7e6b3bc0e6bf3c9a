package smoke_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"modelgate"
	"modelgate/promotion"
	"modelgate/smoke"
)

// server answers V1 predict with f(instances).
func server(t *testing.T, f func(w http.ResponseWriter, n int)) modelgate.Endpoint {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Instances []map[string]any `json:"instances"`
		}
		_ = json.NewDecoder(r.Body).Decode(&req)
		f(w, len(req.Instances))
	}))
	t.Cleanup(srv.Close)
	return modelgate.Endpoint{URL: srv.URL, Name: "m"}
}

func predictions(v float64) func(http.ResponseWriter, int) {
	return func(w http.ResponseWriter, n int) {
		p := make([]float64, n)
		for i := range p {
			p[i] = v
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"predictions": p})
	}
}

func TestRequests(t *testing.T) {
	tests := []struct {
		name    string
		handler func(http.ResponseWriter, int)
		p95     time.Duration
		want    string // substring of the first failure; "" means pass
	}{
		{"OK", predictions(3), 0, ""},
		{"ServerError", func(w http.ResponseWriter, _ int) { http.Error(w, "boom", 500) }, 0, "status 500, expected 200"},
		{"WrongCount", func(w http.ResponseWriter, _ int) { _, _ = w.Write([]byte(`{"predictions":[1,2]}`)) }, 0, "2 predictions for 1 instances"},
		{"Slow", func(w http.ResponseWriter, n int) { time.Sleep(3 * time.Millisecond); predictions(1)(w, n) }, time.Millisecond, "latency p95"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := &smoke.Requests{Count: 10, Warmup: 1, P95Max: tt.p95}
			r, err := g.Check(context.Background(), server(t, tt.handler), promotion.Candidate{})
			if err != nil {
				t.Fatal(err)
			}
			if tt.want == "" {
				if !r.Passed {
					t.Fatalf("failed: %v", r.Failures)
				}
				return
			}
			if r.Passed || len(r.Failures) == 0 || !strings.Contains(strings.Join(r.Failures, "\n"), tt.want) {
				t.Fatalf("failures %v, want one containing %q", r.Failures, tt.want)
			}
		})
	}
}

func TestEvaluation(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gt.csv")
	if err := os.WriteFile(path, []byte("store_id,date,units_sold\n1,2024-01-01,10\n2,2024-01-02,20\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ep := server(t, predictions(12)) // errors 2 and 8: mae 5, wape 10/30
	g := &smoke.Evaluation{Dataset: path}
	r, err := g.Check(context.Background(), ep, promotion.Candidate{Metrics: map[string]float64{"mae": 5}})
	if err != nil || !r.Passed {
		t.Fatalf("matching metrics: %v %v", err, r.Failures)
	}
	r, err = g.Check(context.Background(), ep, promotion.Candidate{Metrics: map[string]float64{"mae": 4}})
	if err != nil || r.Passed || !strings.Contains(r.Failures[0], "mae") {
		t.Fatalf("worse mae passed: %v %+v", err, r)
	}
	m := smoke.Metrics([]float64{10, 20}, []float64{12, 12})
	if m["wape"] != 10.0/30 || m["bias"] != -3 {
		t.Fatalf("metrics = %v", m)
	}
}
