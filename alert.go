package modelgate

import (
	"context"
	"time"
)

// The playbook's post-deployment alerts (step 8), by name: Prometheus's
// rules (the prometheus package) and modelgate's own evaluation of the
// local platform's figures (the bake's rules, judge.BakeRules) use the
// same names and thresholds.
const (
	AlertErrorRate  = "ModelErrorRateHigh"  // error rate > 1%
	AlertLatencyP95 = "ModelLatencyP95High" // latency p95 > 300 ms
	AlertDrift      = "ModelDriftHigh"      // an input's drift score > its threshold
)

// DriftMetric is the gauge the drift alert reads: the population stability
// index (PSI) of one input of a served version against the version's
// training reference profile, labelled model, version and feature. No
// component of modelgate exports it yet: it needs the inputs of production
// traffic (KServe's payload logger) measured continuously, which only the
// canary window does today, so on KServe the drift alert stays silent until
// an exporter publishes it.
const DriftMetric = "modelgate_feature_drift_psi"

// AlertThresholds are the levels at which the post-deployment alerts fire.
// DefaultAlertThresholds has the playbook's.
type AlertThresholds struct {
	ErrorRate  float64       // share of requests answered with a 5xx; default 0.01
	LatencyP95 time.Duration // p95 request latency; default 300ms
	DriftPSI   float64       // PSI of any input against the training reference; default 0.2
	// MinRequests is how many requests the measured period needs before the
	// error rate and the latency can raise an alert; default 100.
	MinRequests int64
	// MinDriftSamples is how many values of an input its drift needs;
	// default 1000.
	MinDriftSamples int64
}

// DefaultAlertThresholds returns the playbook's alert levels.
func DefaultAlertThresholds() AlertThresholds {
	return AlertThresholds{ErrorRate: 0.01, LatencyP95: 300 * time.Millisecond, DriftPSI: 0.2, MinRequests: 100, MinDriftSamples: 1000}
}

// OrDefaults returns t with every zero field set to its default.
func (t AlertThresholds) OrDefaults() AlertThresholds {
	d := DefaultAlertThresholds()
	if t.ErrorRate == 0 {
		t.ErrorRate = d.ErrorRate
	}
	if t.LatencyP95 == 0 {
		t.LatencyP95 = d.LatencyP95
	}
	if t.DriftPSI == 0 {
		t.DriftPSI = d.DriftPSI
	}
	if t.MinRequests == 0 {
		t.MinRequests = d.MinRequests
	}
	if t.MinDriftSamples == 0 {
		t.MinDriftSamples = d.MinDriftSamples
	}
	return t
}

// Monitoring check statuses.
const (
	MonitoringOK      = "ok"      // in place
	MonitoringMissing = "missing" // not in place, or could not be confirmed: a problem
	MonitoringSkipped = "skipped" // not checkable here; the detail says why
)

// MonitoringCheck is one finding of the playbook's precondition
// "monitoring dashboards and alerts configured for the new model".
type MonitoringCheck struct {
	Name   string `json:"name"`   // what was checked, e.g. "alert rules", "dashboard", "notifier smtp mail:587"
	Status string `json:"status"` // MonitoringOK, MonitoringMissing or MonitoringSkipped
	Detail string `json:"detail"` // what was found, or why not
}

// MonitoringEvidence is what the preconditions found of the model's
// monitoring, and whether a problem stopped the promotion (Mode error),
// was only recorded (warn) or nothing was checked (off).
type MonitoringEvidence struct {
	Mode   string            `json:"mode"`
	Checks []MonitoringCheck `json:"checks,omitempty"`
}

// Problems are the missing checks, "name: detail" each.
func (m MonitoringEvidence) Problems() []string {
	var out []string
	for _, c := range m.Checks {
		if c.Status == MonitoringMissing {
			out = append(out, c.Name+": "+c.Detail)
		}
	}
	return out
}

// Prober is an optional capability of a Notifier: a dry check that its
// destination can be reached, sending nothing (a connection and greeting,
// no message).
type Prober interface {
	Probe(ctx context.Context) error
}
