package prometheus

import (
	"fmt"
	"strings"
)

// Metrics names the series one family of metrics uses. Empty fields of an
// override take the family's value.
type Metrics struct {
	// Requests is a request counter; "" counts the latency histogram's
	// _count series instead.
	Requests string
	// Latency is the latency histogram's base name (without _bucket).
	Latency string
	// LatencyUnit is "ms" or "s", the histogram's unit.
	LatencyUnit string
	// RevisionLabel carries the revision; RevisionValue formats its value
	// from the revision name ("{revision}" is replaced).
	RevisionLabel string
	RevisionValue string
	// NamespaceLabel carries the namespace ("" does not filter on it).
	NamespaceLabel string
	// CodeLabel carries the HTTP status code (or class, "5xx").
	CodeLabel string
	// Matchers are extra label matchers, e.g. `reporter="destination"`.
	Matchers []string
}

// The families modelgate knows (kserve.md §4: Knative ≤ 1.18, ≥ 1.21 and
// Istio's standard metrics).
var families = map[string]Metrics{
	// Knative Serving ≤ 1.18 (OpenCensus): milliseconds.
	"knative": {
		Requests: "revision_app_request_count", Latency: "revision_app_request_latencies", LatencyUnit: "ms",
		RevisionLabel: "revision_name", RevisionValue: "{revision}", NamespaceLabel: "namespace_name", CodeLabel: "response_code",
	},
	// Knative Serving ≥ 1.21 (OpenTelemetry; KServe v0.20 installs 1.21.1):
	// seconds, resource attributes promoted to labels.
	"knative-otel": {
		Latency: "kn_serving_invocation_duration_seconds", LatencyUnit: "s",
		RevisionLabel: "kn_revision_name", RevisionValue: "{revision}", NamespaceLabel: "k8s_namespace_name", CodeLabel: "http_response_status_code",
	},
	// Istio sidecar metrics, destination side; Knative-mode workloads are
	// named "<revision>-deployment".
	"istio": {
		Requests: "istio_requests_total", Latency: "istio_request_duration_milliseconds", LatencyUnit: "ms",
		RevisionLabel: "destination_workload", RevisionValue: "{revision}-deployment", NamespaceLabel: "destination_workload_namespace", CodeLabel: "response_code",
		Matchers: []string{`reporter="destination"`},
	},
	// Istio sidecar metrics for KServe's RawDeployment mode, where
	// modelgate's revisions are the predictor Deployments themselves
	// ("<isvc>-predictor", "<isvc>-canary-predictor").
	"istio-raw": {
		Requests: "istio_requests_total", Latency: "istio_request_duration_milliseconds", LatencyUnit: "ms",
		RevisionLabel: "destination_workload", RevisionValue: "{revision}", NamespaceLabel: "destination_workload_namespace", CodeLabel: "response_code",
		Matchers: []string{`reporter="destination"`},
	},
}

// Family returns the metric names of a family: knative, knative-otel,
// istio or istio-raw.
func Family(name string) (Metrics, error) {
	m, ok := families[name]
	if !ok {
		return Metrics{}, fmt.Errorf("metrics.family: %q is not one of knative, knative-otel, istio, istio-raw", name)
	}
	return m, nil
}

// merge returns m with o's non-empty fields.
func (m Metrics) merge(o Metrics) Metrics {
	set := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	set(&m.Requests, o.Requests)
	set(&m.Latency, o.Latency)
	set(&m.LatencyUnit, o.LatencyUnit)
	set(&m.RevisionLabel, o.RevisionLabel)
	set(&m.RevisionValue, o.RevisionValue)
	set(&m.NamespaceLabel, o.NamespaceLabel)
	set(&m.CodeLabel, o.CodeLabel)
	if o.Matchers != nil {
		m.Matchers = o.Matchers
	}
	return m
}

func (m Metrics) validate() error {
	switch {
	case m.Latency == "":
		return fmt.Errorf("metrics.names.latency: required")
	case m.LatencyUnit != "ms" && m.LatencyUnit != "s":
		return fmt.Errorf("metrics.names.latency_unit: %q is not ms or s", m.LatencyUnit)
	case m.RevisionLabel == "":
		return fmt.Errorf("metrics.names.revision_label: required")
	case m.CodeLabel == "":
		return fmt.Errorf("metrics.names.code_label: required")
	}
	return nil
}

// selector returns the series selector of metric for one revision.
func (m Metrics) selector(metric, namespace, revision string) string {
	value := strings.ReplaceAll(m.RevisionValue, "{revision}", revision)
	if m.RevisionValue == "" {
		value = revision
	}
	parts := []string{fmt.Sprintf("%s=%q", m.RevisionLabel, value)}
	if m.NamespaceLabel != "" && namespace != "" {
		parts = append(parts, fmt.Sprintf("%s=%q", m.NamespaceLabel, namespace))
	}
	parts = append(parts, m.Matchers...)
	return metric + "{" + strings.Join(parts, ", ") + "}"
}

// isServerError reports whether a code label value is a 5xx.
func isServerError(code string) bool {
	return strings.HasPrefix(code, "5") && (len(code) == 3)
}
