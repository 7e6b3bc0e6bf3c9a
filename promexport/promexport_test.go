package promexport_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/promexport"
	"github.com/modelgate/modelgate/promexport/promexporttest"
)

type source map[string]*modelgate.Window

func (s source) Observe(_ context.Context, model string) (*modelgate.Window, error) {
	if w, ok := s[model]; ok {
		return w, nil
	}
	return nil, modelgate.Errorf(modelgate.ENOTFOUND, "not served")
}

type nopLog struct{}

func (nopLog) Append(_ context.Context, e modelgate.AuditEntry) (modelgate.AuditEntry, error) {
	return e, nil
}

// populated returns a registry with every metric having series.
func populated(t *testing.T) (*prometheus.Registry, *promexport.Metrics) {
	t.Helper()
	reg := prometheus.NewRegistry()
	m, err := promexport.NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	lat := modelgate.Distribution{Count: 100, Sum: 1500, P50: 12, P95: 30, P99: 45}
	src := source{"m": {Stable: modelgate.RevisionStats{Version: "1", Requests: 900, Errors: 9, LatencyMS: lat},
		Canary: modelgate.RevisionStats{Version: "2", Requests: 100, Errors: 1, LatencyMS: lat}}}
	reg.MustRegister(&promexport.GatewayCollector{Source: src, Models: func(context.Context) ([]string, error) { return []string{"m", "gone"}, nil }})
	p := &modelgate.Promotion{ID: "p", Model: "m", Version: "2"}
	m.Started(p)
	m.Progress(modelgate.Event{Model: "m", Elapsed: 90 * time.Second, Remaining: 30 * time.Second, Window: &modelgate.Window{},
		Judgement: &modelgate.Judgement{Decision: modelgate.DecisionContinue, Checks: []modelgate.Check{{Name: "error_rate", Verdict: modelgate.VerdictPass}}}})
	if _, err := m.AuditLog(nopLog{}).Append(context.Background(), modelgate.AuditEntry{}); err != nil {
		t.Fatal(err)
	}
	return reg, m
}

func TestMetrics_Values(t *testing.T) {
	reg, m := populated(t)
	want := `
# HELP modelgate_judge_check_verdict The judge's current verdict per check of a running canary: 1 for the verdict it has, 0 for the others.
# TYPE modelgate_judge_check_verdict gauge
modelgate_judge_check_verdict{check="error_rate",model="m",verdict="continue"} 0
modelgate_judge_check_verdict{check="error_rate",model="m",verdict="fail"} 0
modelgate_judge_check_verdict{check="error_rate",model="m",verdict="inconclusive"} 0
modelgate_judge_check_verdict{check="error_rate",model="m",verdict="not_judged"} 0
modelgate_judge_check_verdict{check="error_rate",model="m",verdict="pass"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "modelgate_judge_check_verdict"); err != nil {
		t.Fatal(err)
	}
	if got := testutil.ToFloat64(m.AuditAppends("ok")); got != 1 {
		t.Fatalf("audit appends %v", got)
	}
	start := time.Now()
	m.Ended(&modelgate.Promotion{Model: "m", Outcome: modelgate.OutcomePromoted}, []*modelgate.StepRecord{
		{Step: modelgate.StepWindow, StartedAt: start, EndedAt: start.Add(time.Minute)},
		{Step: modelgate.StepVerify, StartedAt: start.Add(-time.Hour), EndedAt: start.Add(-time.Hour)}, // before this job
	}, start)
	if n := testutil.CollectAndCount(reg, "modelgate_judge_check_verdict", "modelgate_promotion_step_duration_seconds"); n != 1 {
		t.Fatalf("after the end: %d series of the verdicts and step durations, want the window step's only", n)
	}
}

// The exposition passes client_golang's promlint and Prometheus's own
// promtool (Debian's prometheus package; scripts/prometheus-install).
func TestMetrics_Lint(t *testing.T) {
	reg, _ := populated(t)
	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	defer srv.Close()
	promexporttest.Lint(t, fetch(t, srv.URL))
}

func fetch(t *testing.T, url string) []byte {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
