package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelgate/modelgate/prometheus/prometheustest"
)

// alerts prints the production version's rules with the configured levels
// and the dashboard link; promtool accepts them.
func TestAlertsCommand(t *testing.T) {
	w := newCLIWorld(t)
	cfg, err := os.ReadFile(w.config)
	if err != nil {
		t.Fatal(err)
	}
	extra := "alerts: {error_rate: 0.02, latency_p95: 250ms, labels: {team: forecasting}}\n" +
		"records: {links: {dashboard: 'https://grafana.example.com/d/serving?var-model={model}&var-version={version}'}}\n"
	if err := os.WriteFile(w.config, append(cfg, extra...), 0o644); err != nil {
		t.Fatal(err)
	}
	w.register(t, "1", "Staging", "git_sha=abc", "dataset_version=d1", "approver=ada") // version 1
	if out := runErr(t, w, 1, "alerts", "demand-forecast"); !strings.Contains(out, "name the version with --version") {
		t.Errorf("alerts without a production version: %s", out)
	}
	w.register(t, "2", "Production", "git_sha=abc", "dataset_version=d1", "approver=ada") // version 2
	out := w.run(t, 0, "alerts", "demand-forecast")
	for _, want := range []string{
		"name: modelgate.demand-forecast", "alert: ModelErrorRateHigh", "alert: ModelLatencyP95High", "alert: ModelDriftHigh",
		`kn_revision_name=~"demand-forecast-predictor-[0-9]+", k8s_namespace_name="mlops"`, "> 0.02\n", "> 0.25\n",
		`version: "2"`, "team: forecasting", "dashboard: https://grafana.example.com/d/serving?var-model=demand-forecast&var-version=2",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("rules lack %q:\n%s", want, out)
		}
	}
	path := filepath.Join(w.dir, "rules.yaml")
	if err := os.WriteFile(path, []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
	if b, err := exec.Command(prometheustest.Promtool(t), "check", "rules", path).CombinedOutput(); err != nil {
		t.Errorf("promtool check rules: %v\n%s", err, b)
	}
	if out := w.run(t, 0, "alerts", "demand-forecast", "--version", "1"); !strings.Contains(out, `version: "1"`) {
		t.Errorf("--version 1:\n%s", out)
	}
	pr := w.run(t, 0, "alerts", "demand-forecast", "--format", "prometheusrule")
	for _, want := range []string{"apiVersion: monitoring.coreos.com/v1", "kind: PrometheusRule", "name: demand-forecast-modelgate", "namespace: mlops",
		"modelgate.dev/version: \"2\"", "- alert: ModelErrorRateHigh"} {
		if !strings.Contains(pr, want) {
			t.Errorf("PrometheusRule lacks %q:\n%s", want, pr)
		}
	}
	if out := runErr(t, w, 2, "alerts", "demand-forecast", "--apply"); !strings.Contains(out, "alerts --apply: needs platform.type kserve") {
		t.Errorf("--apply on the local platform: %s", out)
	}
}
