// Package promexport is modelgate's own Prometheus metrics, built with
// client_golang on a registry passed in (no globals): Metrics counts
// promotions and audit appends and follows the judge through a promotion
// runner's events; GatewayCollector exports the local gateway's requests,
// errors and latency per model, version and arm by reading its
// modelgate.MetricsSource at each scrape, not a second copy of its counters.
//
// It imports the root package and client_golang only. Names follow
// Prometheus's conventions (modelgate_ prefix, base units, _total
// counters) and labels stay bounded: model, version, arm, step, check,
// verdict, outcome — never a promotion or request id.
package promexport
