package promexport

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/modelgate/modelgate"
)

// GatewayCollector exports the local gateway's own figures per model,
// version and arm (stable, canary), read from its MetricsSource at each
// scrape. They count from when the current traffic split was set, so they
// start again at a new split, as a restarted counter does.
type GatewayCollector struct {
	Source modelgate.MetricsSource
	// Models lists the models to read (the configured one, those with
	// promotions).
	Models func(ctx context.Context) ([]string, error)
	// Timeout bounds one scrape's reads; default 5s.
	Timeout time.Duration
}

var (
	gwRequests = prometheus.NewDesc("modelgate_gateway_requests_total",
		"Prediction requests the local gateway answered or failed since the current split was set.", []string{"model", "version", "arm"}, nil)
	gwErrors = prometheus.NewDesc("modelgate_gateway_errors_total",
		"Prediction requests the local gateway answered with a 5xx since the current split was set.", []string{"model", "version", "arm"}, nil)
	gwLatency = prometheus.NewDesc("modelgate_gateway_request_duration_seconds",
		"Prediction latency at the local gateway since the current split was set.", []string{"model", "version", "arm"}, nil)
	gwUp = prometheus.NewDesc("modelgate_gateway_up",
		"Whether the last read of the local gateway's figures for the model succeeded.", []string{"model"}, nil)
)

// Describe sends the descriptors.
func (c *GatewayCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{gwRequests, gwErrors, gwLatency, gwUp} {
		ch <- d
	}
}

// Collect reads every model's window and sends its figures.
func (c *GatewayCollector) Collect(ch chan<- prometheus.Metric) {
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	models, err := c.Models(ctx)
	if err != nil {
		return
	}
	for _, m := range models {
		w, err := c.Source.Observe(ctx, m)
		if modelgate.ErrorCode(err) == modelgate.ENOTFOUND {
			continue // not served
		}
		ch <- prometheus.MustNewConstMetric(gwUp, prometheus.GaugeValue, b2f(err == nil), m)
		if err != nil {
			continue
		}
		arm(ch, m, "stable", w.Stable)
		arm(ch, m, "canary", w.Canary)
	}
}

// arm sends one revision's figures; nothing for an arm without a version.
func arm(ch chan<- prometheus.Metric, model, name string, s modelgate.RevisionStats) {
	if s.Version == "" {
		return
	}
	ch <- prometheus.MustNewConstMetric(gwRequests, prometheus.CounterValue, float64(s.Requests), model, s.Version, name)
	ch <- prometheus.MustNewConstMetric(gwErrors, prometheus.CounterValue, float64(s.Errors), model, s.Version, name)
	l := s.LatencyMS
	q := map[float64]float64{}
	if l.Count > 0 {
		q = map[float64]float64{0.5: l.P50 / 1000, 0.95: l.P95 / 1000, 0.99: l.P99 / 1000}
	}
	ch <- prometheus.MustNewConstSummary(gwLatency, uint64(l.Count), l.Sum/1000, q, model, s.Version, name)
}
