package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/modelgate/modelgate"
)

// status shows the active promotion's links and what its monitoring check
// found missing.
func TestPrintPreconditions(t *testing.T) {
	var out bytes.Buffer
	g := &globals{stdout: &out}
	printPreconditions(g, &modelgate.ModelStatus{
		Links: modelgate.Links{PR: "https://github.com/acme/forecast/pull/42"}.List(),
		Monitoring: &modelgate.MonitoringEvidence{Mode: "warn", Checks: []modelgate.MonitoringCheck{
			{Name: "alert rules", Status: modelgate.MonitoringMissing, Detail: "no PrometheusRule mlops/demand-forecast-modelgate"},
			{Name: "dashboard", Status: modelgate.MonitoringOK, Detail: "https://grafana.example.com/d/x"}}},
	})
	want := "  Pull request: https://github.com/acme/forecast/pull/42\n" +
		"  monitoring missing (preconditions.monitoring: warn): alert rules: no PrometheusRule mlops/demand-forecast-modelgate\n"
	if got := out.String(); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
	if strings.Contains(out.String(), "dashboard") {
		t.Error("a check in place is shown as missing")
	}
}
