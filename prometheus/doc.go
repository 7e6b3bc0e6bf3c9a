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
// Rules renders the playbook's post-deployment alerts (error rate, p95
// latency, input drift) for a model as a Prometheus rules file on the same
// series, which promtool checks and tests (rules_test.go).
//
// It imports only the root package, the standard library and
// go.yaml.in/yaml/v3 (to write rules files).
package prometheus
