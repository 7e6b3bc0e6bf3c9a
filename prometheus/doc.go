// Package prometheus implements modelgate.MetricsSource over Prometheus's
// HTTP API (/api/v1/query): per-revision request counts, 5xx errors and
// latency quantiles of production's stable and canary revisions, for
// Knative's queue-proxy metrics (the older revision_app_request_* family and
// the OpenTelemetry-era kn_serving_invocation_duration_seconds) and Istio's,
// with every metric and label name overridable. Entry point: New.
//
// Queries are range selectors over the window since the split was set; the
// increase of every series is computed from the raw samples (counter resets
// handled, no extrapolation) and latency quantiles are interpolated within
// histogram buckets as histogram_quantile does. A revision without samples
// is reported as missing (Count 0), never as zeros.
//
// It imports only the root package and the standard library.
package prometheus
