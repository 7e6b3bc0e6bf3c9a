package prometheus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/modelgate/modelgate"
)

var _ modelgate.MetricsSource = (*MetricsSource)(nil)

// Target is one revision of production and the version it serves.
type Target struct {
	Revision string
	Version  string
}

// Split is production's current split: Canary is zero without a canary,
// Since is when the split was set (zero: Options.Lookback before now).
type Split struct {
	Namespace string
	Stable    Target
	Canary    Target
	Since     time.Time
}

// Resolver tells which revisions production serves (for KServe,
// kserve.Deployer.Revisions).
type Resolver func(ctx context.Context, model string) (Split, error)

// Options configures a MetricsSource. cmd/modelgate fills it from
// modelgate.yaml's metrics block, one key per field.
type Options struct {
	// URL is Prometheus's base URL, e.g. http://prometheus.monitoring:9090.
	URL string
	// Family is knative (≤ 1.18 revision_app_request_*), knative-otel
	// (≥ 1.21, the default), istio or istio-raw (KServe's RawDeployment
	// mode: Istio's series by predictor Deployment).
	Family string
	// Names overrides the family's metric and label names field by field.
	Names Metrics
	// Lookback is the window when the split's start is unknown. Default 30m.
	Lookback time.Duration
}

// MetricsSource reads stable and canary figures from Prometheus.
type MetricsSource struct {
	base    string
	metrics Metrics
	resolve Resolver
	opts    Options
	// Client is the HTTP client; default one whose requests time out after
	// 30 s, so a frozen Prometheus fails a look (the engine tolerates a few
	// in a row) instead of hanging it.
	Client *http.Client
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// New returns a MetricsSource for opts; resolve names the revisions.
func New(opts Options, resolve Resolver) (*MetricsSource, error) {
	if opts.URL == "" {
		return nil, modelgate.Errorf(modelgate.EINVALID, "metrics.url: required for prometheus")
	}
	if _, err := url.Parse(opts.URL); err != nil {
		return nil, modelgate.Errorf(modelgate.EINVALID, "metrics.url: %v", err)
	}
	if opts.Family == "" {
		opts.Family = "knative-otel"
	}
	m, err := MetricsFor(opts.Family, opts.Names)
	if err != nil {
		return nil, err
	}
	if opts.Lookback <= 0 {
		opts.Lookback = 30 * time.Minute
	}
	if resolve == nil {
		return nil, errors.New("prometheus.New: nil Resolver")
	}
	return &MetricsSource{base: strings.TrimRight(opts.URL, "/"), metrics: m, resolve: resolve, opts: opts, Client: &http.Client{Timeout: 30 * time.Second}, Now: time.Now}, nil
}

// MetricsFor returns the metric and label names of family ("" is
// knative-otel) with names' non-empty fields over them. EINVALID when the
// family is unknown or a required name is missing.
func MetricsFor(family string, names Metrics) (Metrics, error) {
	if family == "" {
		family = "knative-otel"
	}
	fam, err := Family(family)
	if err != nil {
		return Metrics{}, &modelgate.Error{Code: modelgate.EINVALID, Message: err.Error()}
	}
	m := fam.merge(names)
	if err := m.validate(); err != nil {
		return Metrics{}, &modelgate.Error{Code: modelgate.EINVALID, Message: err.Error()}
	}
	return m, nil
}

// Metrics returns the metric and label names in effect.
func (s *MetricsSource) Metrics() Metrics { return s.metrics }

// Observe returns stable and canary figures since the split was set.
// Predictions are not in Prometheus and stay missing (Count 0); a revision
// without series is missing too.
func (s *MetricsSource) Observe(ctx context.Context, model string) (*modelgate.Window, error) {
	split, err := s.resolve(ctx, model)
	if err != nil {
		return nil, fmt.Errorf("find production's revisions: %w", err)
	}
	end := s.Now()
	start := split.Since
	if start.IsZero() || !start.Before(end) {
		start = end.Add(-s.opts.Lookback)
	}
	return s.observe(ctx, model, split, start, end)
}

var _ modelgate.RangeObserver = (*MetricsSource)(nil)

// ObserveRange returns stable (and canary) figures between start and end.
func (s *MetricsSource) ObserveRange(ctx context.Context, model string, start, end time.Time) (*modelgate.Window, error) {
	if !start.Before(end) {
		return nil, modelgate.Errorf(modelgate.EINVALID, "observe %s: start %s is not before end %s", model, start.Format(time.RFC3339), end.Format(time.RFC3339))
	}
	split, err := s.resolve(ctx, model)
	if err != nil {
		return nil, fmt.Errorf("find production's revisions: %w", err)
	}
	return s.observe(ctx, model, split, start, end)
}

func (s *MetricsSource) observe(ctx context.Context, model string, split Split, start, end time.Time) (*modelgate.Window, error) {
	w := &modelgate.Window{Model: model, Start: start, End: end}
	var err error
	if w.Stable, err = s.Revision(ctx, split.Namespace, split.Stable, start, end); err != nil {
		return nil, err
	}
	if split.Canary.Revision != "" {
		if w.Canary, err = s.Revision(ctx, split.Namespace, split.Canary, start, end); err != nil {
			return nil, err
		}
	}
	return w, nil
}

// Queries returns the PromQL modelgate sends for one revision over rng.
func (s *MetricsSource) Queries(namespace, revision string, rng time.Duration) (requests, buckets, sum string) {
	r := "[" + strconv.FormatInt(int64(math.Ceil(rng.Seconds())), 10) + "s]"
	count := s.metrics.Requests
	if count == "" {
		count = s.metrics.Latency + "_count"
	}
	m := s.metrics
	return m.selector(count, namespace, revision) + r,
		m.selector(m.Latency+"_bucket", namespace, revision) + r,
		m.selector(m.Latency+"_sum", namespace, revision) + r
}

// Revision measures one revision between start and end.
func (s *MetricsSource) Revision(ctx context.Context, namespace string, t Target, start, end time.Time) (modelgate.RevisionStats, error) {
	st := modelgate.RevisionStats{Version: t.Version}
	qCount, qBuckets, qSum := s.Queries(namespace, t.Revision, end.Sub(start))
	counts, err := s.query(ctx, qCount, end)
	if err != nil {
		return st, err
	}
	var requests, errs float64
	for _, series := range counts {
		inc := series.increase()
		requests += inc
		if code := series.Metric[s.metrics.CodeLabel]; isServerError(code) || code == "5xx" {
			errs += inc
		}
	}
	st.Requests, st.Errors = int64(math.Round(requests)), int64(math.Round(errs))
	bucketSeries, err := s.query(ctx, qBuckets, end)
	if err != nil {
		return st, err
	}
	sums, err := s.query(ctx, qSum, end)
	if err != nil {
		return st, err
	}
	st.LatencyMS = s.latency(bucketSeries, sums)
	return st, nil
}

// latency builds the latency distribution (milliseconds) from the increase
// of every bucket and of the sum.
func (s *MetricsSource) latency(buckets, sums []series) modelgate.Distribution {
	byLE := map[float64]float64{}
	for _, b := range buckets {
		le, err := strconv.ParseFloat(b.Metric["le"], 64)
		if err != nil {
			continue
		}
		byLE[le] += b.increase()
	}
	var d modelgate.Distribution
	total := byLE[math.Inf(1)]
	if total < 0.5 {
		return d // no requests observed: missing, not zero
	}
	scale := 1.0
	if s.metrics.LatencyUnit == "s" {
		scale = 1000
	}
	var sum float64
	for _, x := range sums {
		sum += x.increase()
	}
	d.Count = int64(math.Round(total))
	d.Sum = sum * scale
	d.P50 = quantile(0.50, byLE) * scale
	d.P95 = quantile(0.95, byLE) * scale
	d.P99 = quantile(0.99, byLE) * scale
	return d
}

// quantile interpolates the q-quantile within cumulative buckets as
// Prometheus's histogram_quantile does.
func quantile(q float64, byLE map[float64]float64) float64 {
	les := make([]float64, 0, len(byLE))
	for le := range byLE {
		les = append(les, le)
	}
	sort.Float64s(les)
	if len(les) < 2 || !math.IsInf(les[len(les)-1], 1) {
		return math.NaN()
	}
	total := byLE[les[len(les)-1]]
	rank := q * total
	prevLE, prevCount := 0.0, 0.0
	for i, le := range les {
		c := byLE[le]
		if c >= rank {
			if math.IsInf(le, 1) {
				return les[len(les)-2]
			}
			if i == 0 && le <= 0 {
				return le
			}
			if c == prevCount {
				return le
			}
			return prevLE + (le-prevLE)*(rank-prevCount)/(c-prevCount)
		}
		prevLE, prevCount = le, c
	}
	return les[len(les)-2]
}

type series struct {
	Metric map[string]string `json:"metric"`
	Values [][2]any          `json:"values"`
}

// increase is the series' growth over its samples, counter resets
// included, without extrapolation.
func (s series) increase() float64 {
	var inc, prev float64
	for i, v := range s.Values {
		str, _ := v[1].(string)
		x, err := strconv.ParseFloat(str, 64)
		if err != nil || math.IsNaN(x) {
			continue
		}
		switch {
		case i == 0:
		case x >= prev:
			inc += x - prev
		default:
			inc += x // reset
		}
		prev = x
	}
	return inc
}

// query evaluates a range-vector selector at t and returns its raw samples.
func (s *MetricsSource) query(ctx context.Context, q string, t time.Time) ([]series, error) {
	var data struct {
		ResultType string   `json:"resultType"`
		Result     []series `json:"result"`
	}
	params := url.Values{"query": {q}, "time": {strconv.FormatFloat(float64(t.UnixMilli())/1000, 'f', 3, 64)}}
	if err := s.get(ctx, "/api/v1/query", params, q, &data); err != nil {
		return nil, err
	}
	if data.ResultType != "matrix" {
		return nil, modelgate.Errorf(modelgate.EINTERNAL, "Prometheus answered %s with a %s, want a matrix", q, data.ResultType)
	}
	return data.Result, nil
}

// get asks Prometheus's HTTP API for path and decodes its answer's data
// into data; what names the request in errors.
func (s *MetricsSource) get(ctx context.Context, path string, params url.Values, what string, data any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.base+path+"?"+params.Encode(), nil)
	if err != nil {
		return err
	}
	resp, err := s.Client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return &modelgate.Error{Code: modelgate.EUNAVAILABLE, Message: fmt.Sprintf("query Prometheus at %s: %v", s.base, err), Err: err}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return &modelgate.Error{Code: modelgate.EUNAVAILABLE, Message: fmt.Sprintf("read Prometheus's answer: %v", err), Err: err}
	}
	r := struct {
		Status    string `json:"status"`
		ErrorType string `json:"errorType"`
		Error     string `json:"error"`
		Data      any    `json:"data"`
	}{Data: data}
	if err := json.Unmarshal(body, &r); err != nil {
		code := modelgate.EUNAVAILABLE
		if resp.StatusCode < 500 {
			code = modelgate.EINTERNAL
		}
		return modelgate.Errorf(code, "Prometheus answered %s with HTTP %d that is not its API's JSON", what, resp.StatusCode)
	}
	if r.Status != "success" {
		code := modelgate.EUNAVAILABLE
		if r.ErrorType == "bad_data" {
			code = modelgate.EINVALID
		}
		return modelgate.Errorf(code, "Prometheus rejected %s: %s: %s", what, r.ErrorType, r.Error)
	}
	return nil
}
