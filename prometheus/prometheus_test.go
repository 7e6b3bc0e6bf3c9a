package prometheus_test

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/prometheus"
	"github.com/modelgate/modelgate/prometheus/prometheustest"
)

// The exporter's known figures: cumulative latency buckets (ms) by code.
type arm struct {
	revision string
	les      []float64            // ms, +Inf last
	buckets  map[string][]float64 // code → cumulative counts per le
	sums     map[string]float64   // code → latency sum (ms)
}

var (
	stableArm = arm{
		revision: "iris-predictor-00001",
		les:      []float64{10, 25, 50, 100, math.Inf(1)},
		buckets:  map[string][]float64{"200": {300, 791, 871, 891, 891}, "500": {0, 9, 9, 9, 9}},
		sums:     map[string]float64{"200": 14000, "500": 1000},
	}
	canaryArm = arm{
		revision: "iris-predictor-00002",
		les:      []float64{10, 25, 50, 100, math.Inf(1)},
		buckets:  map[string][]float64{"200": {10, 40, 80, 95, 95}, "500": {0, 0, 0, 5, 5}},
		sums:     map[string]float64{"200": 3000, "500": 500},
	}
	// Want: what those series mean (quantiles interpolated as
	// histogram_quantile does, by hand).
	wantStable = modelgate.RevisionStats{Version: "1", Requests: 900, Errors: 9, LatencyMS: modelgate.Distribution{Count: 900, Sum: 15000, P50: 14.5, P95: 42.1875, P99: 77.5}}
	wantCanary = modelgate.RevisionStats{Version: "2", Requests: 100, Errors: 5, LatencyMS: modelgate.Distribution{Count: 100, Sum: 3500, P50: 31.25, P95: 87.5, P99: 97.5}}
)

// exporter serves the three families; before live is set every counter is
// 0, so the increase Prometheus records is exactly the known value.
type exporter struct{ live atomic.Bool }

func (e *exporter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var b strings.Builder
	for _, a := range []arm{stableArm, canaryArm} {
		e.knative(&b, a, "mlops")
		e.knative(&b, a, "other") // a decoy namespace with the same revision name
		e.otel(&b, a)
		e.istio(&b, a, "destination")
		e.istio(&b, a, "source") // the decoy side the istio family must not count
	}
	fmt.Fprint(w, b.String())
}

func (e *exporter) v(x float64) float64 {
	if e.live.Load() {
		return x
	}
	return 0
}

func le(x float64, scale float64) string {
	if math.IsInf(x, 1) {
		return "+Inf"
	}
	return strconv.FormatFloat(x*scale, 'g', -1, 64)
}

func (e *exporter) knative(b *strings.Builder, a arm, ns string) {
	mult := 1.0
	if ns != "mlops" {
		mult = 7
	}
	for code, counts := range a.buckets {
		lbl := fmt.Sprintf(`namespace_name=%q,revision_name=%q,service_name="iris-predictor",response_code=%q,response_code_class="%cxx"`, ns, a.revision, code, code[0])
		fmt.Fprintf(b, "revision_app_request_count{%s} %g\n", lbl, e.v(counts[len(counts)-1]*mult))
		for i, x := range a.les {
			fmt.Fprintf(b, "revision_app_request_latencies_bucket{%s,le=%q} %g\n", lbl, le(x, 1), e.v(counts[i]*mult))
		}
		fmt.Fprintf(b, "revision_app_request_latencies_sum{%s} %g\n", lbl, e.v(a.sums[code]*mult))
		fmt.Fprintf(b, "revision_app_request_latencies_count{%s} %g\n", lbl, e.v(counts[len(counts)-1]*mult))
	}
}

func (e *exporter) otel(b *strings.Builder, a arm) {
	for code, counts := range a.buckets {
		lbl := fmt.Sprintf(`k8s_namespace_name="mlops",kn_revision_name=%q,kn_service_name="iris-predictor",http_response_status_code=%q`, a.revision, code)
		for i, x := range a.les {
			fmt.Fprintf(b, "kn_serving_invocation_duration_seconds_bucket{%s,le=%q} %g\n", lbl, le(x, 0.001), e.v(counts[i]))
		}
		fmt.Fprintf(b, "kn_serving_invocation_duration_seconds_sum{%s} %g\n", lbl, e.v(a.sums[code]/1000))
		fmt.Fprintf(b, "kn_serving_invocation_duration_seconds_count{%s} %g\n", lbl, e.v(counts[len(counts)-1]))
	}
}

func (e *exporter) istio(b *strings.Builder, a arm, reporter string) {
	mult := 1.0
	if reporter != "destination" {
		mult = 3
	}
	for code, counts := range a.buckets {
		lbl := fmt.Sprintf(`reporter=%q,destination_workload="%s-deployment",destination_workload_namespace="mlops",destination_canonical_revision="latest",response_code=%q`, reporter, a.revision, code)
		fmt.Fprintf(b, "istio_requests_total{%s} %g\n", lbl, e.v(counts[len(counts)-1]*mult))
		for i, x := range a.les {
			fmt.Fprintf(b, "istio_request_duration_milliseconds_bucket{%s,le=%q} %g\n", lbl, le(x, 1), e.v(counts[i]*mult))
		}
		fmt.Fprintf(b, "istio_request_duration_milliseconds_sum{%s} %g\n", lbl, e.v(a.sums[code]*mult))
		fmt.Fprintf(b, "istio_request_duration_milliseconds_count{%s} %g\n", lbl, e.v(counts[len(counts)-1]*mult))
	}
}

// instant runs an instant PromQL query and returns the single value.
func instant(t *testing.T, base, q string) float64 {
	t.Helper()
	v, err := prometheustest.Query(base, q)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestObserveAgainstRealPrometheus(t *testing.T) {
	exp := &exporter{}
	srv := httptest.NewServer(exp)
	defer srv.Close()
	start := time.Now().Add(-time.Second)
	base := prometheustest.Start(t, strings.TrimPrefix(srv.URL, "http://"))
	// At least two scrapes at zero, then the known values, then two more.
	prometheustest.WaitFor(t, 30*time.Second, func() bool {
		return prometheustest.AtLeast(base, `count_over_time(up{job="exporter"}[1m])`, 2)
	})
	exp.live.Store(true)
	prometheustest.WaitFor(t, 30*time.Second, func() bool {
		return prometheustest.AtLeast(base, `sum(revision_app_request_count{namespace_name="mlops"})`, 1000) &&
			prometheustest.AtLeast(base, `count_over_time(up{job="exporter"}[1m])`, 5)
	})

	split := prometheus.Split{
		Namespace: "mlops",
		Stable:    prometheus.Target{Revision: stableArm.revision, Version: "1"},
		Canary:    prometheus.Target{Revision: canaryArm.revision, Version: "2"},
		Since:     start,
	}
	resolve := func(ctx context.Context, model string) (prometheus.Split, error) { return split, nil }
	for _, family := range []string{"knative", "knative-otel", "istio"} {
		t.Run(family, func(t *testing.T) {
			src, err := prometheus.New(prometheus.Options{URL: base, Family: family}, resolve)
			if err != nil {
				t.Fatal(err)
			}
			w, err := src.Observe(context.Background(), "iris")
			if err != nil {
				t.Fatal(err)
			}
			assertStats(t, "stable", w.Stable, wantStable)
			assertStats(t, "canary", w.Canary, wantCanary)
		})
	}

	t.Run("istio-raw", func(t *testing.T) {
		// RawDeployment mode: the revision is the workload's own name, so
		// the resolver names the Deployments the exporter labels.
		raw := split
		raw.Stable.Revision, raw.Canary.Revision = stableArm.revision+"-deployment", canaryArm.revision+"-deployment"
		src, err := prometheus.New(prometheus.Options{URL: base, Family: "istio-raw"}, func(context.Context, string) (prometheus.Split, error) { return raw, nil })
		if err != nil {
			t.Fatal(err)
		}
		w, err := src.Observe(context.Background(), "iris")
		if err != nil {
			t.Fatal(err)
		}
		assertStats(t, "stable", w.Stable, wantStable)
		assertStats(t, "canary", w.Canary, wantCanary)
	})

	// The quantiles agree with Prometheus's own histogram_quantile (the
	// counters started at 0, so instant values are the window's increase).
	for _, q := range []struct {
		q    float64
		want float64
	}{{0.5, 14.5}, {0.95, 42.1875}, {0.99, 77.5}} {
		got := instant(t, base, fmt.Sprintf(`histogram_quantile(%g, sum by (le) (revision_app_request_latencies_bucket{namespace_name="mlops",revision_name=%q}))`, q.q, stableArm.revision))
		if math.Abs(got-q.want) > 1e-9 {
			t.Errorf("Prometheus's histogram_quantile(%g) = %g, want %g", q.q, got, q.want)
		}
	}

	t.Run("overridden names", func(t *testing.T) {
		// The older family's names given by hand on top of the istio family.
		names := prometheus.Metrics{Requests: "revision_app_request_count", Latency: "revision_app_request_latencies", LatencyUnit: "ms",
			RevisionLabel: "revision_name", RevisionValue: "{revision}", NamespaceLabel: "namespace_name", CodeLabel: "response_code", Matchers: []string{}}
		src, err := prometheus.New(prometheus.Options{URL: base, Family: "istio", Names: names}, resolve)
		if err != nil {
			t.Fatal(err)
		}
		w, err := src.Observe(context.Background(), "iris")
		if err != nil {
			t.Fatal(err)
		}
		assertStats(t, "stable", w.Stable, wantStable)
	})

	t.Run("missing revision is missing", func(t *testing.T) {
		missing := split
		missing.Canary = prometheus.Target{Revision: "iris-predictor-00009", Version: "3"}
		src, err := prometheus.New(prometheus.Options{URL: base, Family: "knative"}, func(context.Context, string) (prometheus.Split, error) { return missing, nil })
		if err != nil {
			t.Fatal(err)
		}
		w, err := src.Observe(context.Background(), "iris")
		if err != nil {
			t.Fatal(err)
		}
		if w.Canary.Requests != 0 || w.Canary.LatencyMS.Count != 0 || w.Canary.LatencyMS.P95 != 0 {
			t.Errorf("a revision without series: got %+v, want missing (Count 0)", w.Canary)
		}
	})

	t.Run("bad query is an error", func(t *testing.T) {
		src, err := prometheus.New(prometheus.Options{URL: base, Family: "knative", Names: prometheus.Metrics{Matchers: []string{`bad matcher`}}}, resolve)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := src.Observe(context.Background(), "iris"); modelgate.ErrorCode(err) != modelgate.EINVALID {
			t.Errorf("got %v (%s), want EINVALID", err, modelgate.ErrorCode(err))
		}
	})
}

func assertStats(t *testing.T, arm string, got, want modelgate.RevisionStats) {
	t.Helper()
	if got.Version != want.Version || got.Requests != want.Requests || got.Errors != want.Errors || got.LatencyMS.Count != want.LatencyMS.Count {
		t.Errorf("%s: got version %s requests %d errors %d latency count %d, want %s %d %d %d", arm,
			got.Version, got.Requests, got.Errors, got.LatencyMS.Count, want.Version, want.Requests, want.Errors, want.LatencyMS.Count)
	}
	for _, f := range []struct {
		name      string
		got, want float64
	}{{"sum", got.LatencyMS.Sum, want.LatencyMS.Sum}, {"p50", got.LatencyMS.P50, want.LatencyMS.P50}, {"p95", got.LatencyMS.P95, want.LatencyMS.P95}, {"p99", got.LatencyMS.P99, want.LatencyMS.P99}} {
		if math.Abs(f.got-f.want) > 1e-6*math.Max(1, math.Abs(f.want)) {
			t.Errorf("%s: latency %s = %g ms, want %g", arm, f.name, f.got, f.want)
		}
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	resolve := func(context.Context, string) (prometheus.Split, error) { return prometheus.Split{}, nil }
	for _, o := range []prometheus.Options{
		{},
		{URL: "http://x", Family: "datadog"},
		{URL: "http://x", Names: prometheus.Metrics{LatencyUnit: "us"}},
	} {
		if _, err := prometheus.New(o, resolve); modelgate.ErrorCode(err) != modelgate.EINVALID {
			t.Errorf("New(%+v) = %v, want EINVALID", o, err)
		}
	}
}
