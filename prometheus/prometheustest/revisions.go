package prometheustest

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/modelgatetest"
	"github.com/modelgate/modelgate/prometheus"
)

// Namespace is where the revisions Revisions plays are.
const Namespace = "mlops"

// latencyBuckets are the histogram's upper bounds in milliseconds, as
// Knative's queue-proxy has them; +Inf comes last.
var latencyBuckets = []float64{5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, math.Inf(1)}

// Revisions plays production for a prometheus.MetricsSource under test: the
// per-revision request metrics Knative's queue-proxy exports (family
// "knative": revision_app_request_count and the histogram
// revision_app_request_latencies, in milliseconds), scraped by a real
// Prometheus, and the split every model's production serves (Resolve). Its
// Subject is what modelgatetest.TestMetricsSource needs. Safe for
// concurrent use.
type Revisions struct {
	Base string // Prometheus's base URL

	mu     sync.Mutex
	series map[seriesKey]*counts
	splits map[string]prometheus.Split // by model
	served map[string]bool             // models served requests since their split was set
	models int                         // models handed out by Subject
}

type seriesKey struct{ revision, code string }

// counts is one series set: requests by cumulative latency bucket.
type counts struct {
	buckets []float64 // parallel to latencyBuckets
	sum     float64   // milliseconds
}

// StartRevisions starts the exporter and a Prometheus scraping it every
// second (Start: it skips tb without Prometheus) and returns once the
// exporter has been scraped.
func StartRevisions(tb testing.TB) *Revisions {
	tb.Helper()
	r := &Revisions{series: map[seriesKey]*counts{}, splits: map[string]prometheus.Split{}, served: map[string]bool{}}
	srv := httptest.NewServer(r)
	tb.Cleanup(srv.Close)
	r.Base = Start(tb, strings.TrimPrefix(srv.URL, "http://"))
	WaitScrape(tb, r.Base, time.Now())
	return r
}

// WaitScrape returns once Prometheus at base holds a scrape of its target
// that started after t, so it has seen everything the target exported by t.
func WaitScrape(tb testing.TB, base string, t time.Time) {
	tb.Helper()
	after := float64(t.UnixNano()) / 1e9
	WaitFor(tb, 30*time.Second, func() bool {
		return AtLeast(base, `timestamp(up{job="exporter"})`, after)
	})
}

// Resolve is a prometheus.Resolver: model's current split, ENOTFOUND for a
// model production does not serve (as kserve.Deployer.Revisions).
func (r *Revisions) Resolve(_ context.Context, model string) (prometheus.Split, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s, ok := r.splits[model]
	if !ok {
		return s, modelgate.Errorf(modelgate.ENOTFOUND, "production does not serve model %q", model)
	}
	return s, nil
}

// RevisionName is the Knative revision serving version of model.
func RevisionName(model, version string) string {
	return model + "-predictor-v" + version
}

// SetSplit makes production serve split for model from now on: its
// revisions' series are exported (at zero when new) and scraped once
// before it returns, so the window's first sample precedes any request.
func (r *Revisions) SetSplit(tb testing.TB, model string, split modelgate.TrafficSplit) {
	tb.Helper()
	s := prometheus.Split{Namespace: Namespace, Stable: prometheus.Target{Revision: RevisionName(model, split.Stable), Version: split.Stable}}
	if split.Canary != "" {
		s.Canary = prometheus.Target{Revision: RevisionName(model, split.Canary), Version: split.Canary}
	}
	r.mu.Lock()
	served := r.served[model]
	r.mu.Unlock()
	if served {
		// A scrape first, so no sample older than the requests served so
		// far falls in the new window (its start is rounded down to a
		// second).
		WaitScrape(tb, r.Base, time.Now())
	}
	r.mu.Lock()
	r.served[model] = false
	for _, t := range []prometheus.Target{s.Stable, s.Canary} {
		r.declare(t.Revision)
	}
	s.Since = time.Now()
	r.splits[model] = s
	r.mu.Unlock()
	WaitScrape(tb, r.Base, s.Since)
}

// declare exports revision's series at zero, for a 200 and a 500 answer,
// unless they exist. Called with mu held.
func (r *Revisions) declare(revision string) {
	if revision == "" {
		return
	}
	for _, code := range []int{200, 500} {
		r.counts(revision, code)
	}
}

// counts returns revision's series for code, made at zero when new. Called
// with mu held.
func (r *Revisions) counts(revision string, code int) *counts {
	k := seriesKey{revision, strconv.Itoa(code)}
	if r.series[k] == nil {
		r.series[k] = &counts{buckets: make([]float64, len(latencyBuckets))}
	}
	return r.series[k]
}

// Serve counts n requests of revision answered with code, each taking
// latency.
func (r *Revisions) Serve(revision string, code int, n int, latency time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.counts(revision, code)
	ms := float64(latency) / float64(time.Millisecond)
	for i, le := range latencyBuckets {
		if ms <= le {
			c.buckets[i] += float64(n)
		}
	}
	c.sum += float64(n) * ms
}

// ServeHTTP exports every series in Prometheus's text format.
func (r *Revisions) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	r.mu.Lock()
	defer r.mu.Unlock()
	keys := make([]seriesKey, 0, len(r.series))
	for k := range r.series {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].revision+keys[i].code < keys[j].revision+keys[j].code })
	var b strings.Builder
	for _, k := range keys {
		c := r.series[k]
		lbl := fmt.Sprintf(`namespace_name=%q,revision_name=%q,response_code=%q,response_code_class="%cxx"`, Namespace, k.revision, k.code, k.code[0])
		total := c.buckets[len(c.buckets)-1]
		fmt.Fprintf(&b, "revision_app_request_count{%s} %g\n", lbl, total)
		for i, le := range latencyBuckets {
			fmt.Fprintf(&b, "revision_app_request_latencies_bucket{%s,le=%q} %g\n", lbl, strconv.FormatFloat(le, 'g', -1, 64), c.buckets[i])
		}
		fmt.Fprintf(&b, "revision_app_request_latencies_sum{%s} %g\n", lbl, c.sum)
		fmt.Fprintf(&b, "revision_app_request_latencies_count{%s} %g\n", lbl, total)
	}
	_, _ = w.Write([]byte(b.String()))
}

// Subject returns a metrics source over the family "knative" for a model
// of its own, and the production it measures, for
// modelgatetest.TestMetricsSource.
func (r *Revisions) Subject(tb testing.TB) modelgatetest.MetricsSubject {
	tb.Helper()
	r.mu.Lock()
	r.models++
	model := fmt.Sprintf("model-%d", r.models)
	r.mu.Unlock()
	src, err := prometheus.New(prometheus.Options{URL: r.Base, Family: "knative"}, r.Resolve)
	if err != nil {
		tb.Fatal(err)
	}
	return modelgatetest.MetricsSubject{
		Source:   src,
		Model:    model,
		SetSplit: func(t *testing.T, split modelgate.TrafficSplit) { r.SetSplit(t, model, split) },
		Send:     func(t *testing.T, tr modelgatetest.Traffic) { r.Send(model, tr) },
		Wait:     func(t *testing.T) { WaitScrape(t, r.Base, time.Now()) },
	}
}

// Send serves tr on model's current split.
func (r *Revisions) Send(model string, tr modelgatetest.Traffic) {
	r.mu.Lock()
	s := r.splits[model]
	r.served[model] = true
	r.mu.Unlock()
	for _, a := range []struct {
		t   prometheus.Target
		arm modelgatetest.Arm
	}{{s.Stable, tr.Stable}, {s.Canary, tr.Canary}} {
		if a.arm.OK+a.arm.Errors > 0 {
			r.Serve(a.t.Revision, http.StatusOK, a.arm.OK, a.arm.Latency)
			r.Serve(a.t.Revision, http.StatusInternalServerError, a.arm.Errors, a.arm.Latency)
		}
	}
}
