// Package grafana writes a Grafana dashboard (Classic JSON, importable:
// "id": null, a Prometheus datasource variable) of a canary against
// production: on the per-revision series modelgate reads from the platform
// (the KServe/Knative/Istio family it is configured with), on the local
// gateway's figures and on what a modelgate server exports about its
// promotions and the judge.
//
// It imports the standard library only; cmd/modelgate passes it the
// family's metric and label names (prometheus.Metrics).
package grafana
