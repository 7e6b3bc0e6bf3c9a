package prometheus_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/prometheus"
	"github.com/modelgate/modelgate/prometheus/prometheustest"
)

var ruleTarget = prometheus.RuleTarget{Model: "demand-forecast", Version: "7", Service: "demand-forecast", Namespace: "mlops",
	Dashboard: "https://grafana.example.com/d/serving?var-model=demand-forecast"}

// promtool's unit-test file (Prometheus 2.42: no fuzzy_compare, no
// start_timestamp; an alert test lists every firing alert of its name, and
// none means nothing fires).
type (
	ruleTests struct {
		RuleFiles          []string    `yaml:"rule_files"`
		EvaluationInterval string      `yaml:"evaluation_interval"`
		Tests              []testGroup `yaml:"tests"`
	}
	testGroup struct {
		Interval      string      `yaml:"interval"`
		InputSeries   []series    `yaml:"input_series"`
		AlertRuleTest []alertTest `yaml:"alert_rule_test"`
	}
	series    struct{ Series, Values string }
	alertTest struct {
		EvalTime  string     `yaml:"eval_time"`
		Alertname string     `yaml:"alertname"`
		ExpAlerts []expAlert `yaml:"exp_alerts,omitempty"`
	}
	expAlert struct {
		ExpLabels      map[string]string `yaml:"exp_labels"`
		ExpAnnotations map[string]string `yaml:"exp_annotations"`
	}
)

// arms builds a family's input series: per-minute request and error
// counts and where the requests' latencies fall, for one service's
// revision in a namespace.
type arms struct{ m prometheus.Metrics }

// labels renders a series' labels for the family's names.
func (a arms) labels(service, ns string, extra ...string) string {
	rev := service + "-predictor-00002"
	value := strings.ReplaceAll(a.m.RevisionValue, "{revision}", rev)
	parts := []string{fmt.Sprintf("%s=%q", a.m.RevisionLabel, value)}
	if a.m.NamespaceLabel != "" {
		parts = append(parts, fmt.Sprintf("%s=%q", a.m.NamespaceLabel, ns))
	}
	return strings.Join(append(append(parts, a.m.Matchers...), extra...), ", ")
}

// traffic is ok and failing requests per minute, all answered within the
// latency bucket ending at slowest seconds.
func (a arms) traffic(service, ns string, ok, failed int, slowest float64) []series {
	var out []series
	requests := a.m.Requests
	if requests == "" {
		requests = a.m.Latency + "_count"
	}
	scale := 1.0
	if a.m.LatencyUnit == "ms" {
		scale = 1000
	}
	for code, n := range map[string]int{"200": ok, "500": failed} {
		if n == 0 {
			continue
		}
		codeLabel := fmt.Sprintf("%s=%q", a.m.CodeLabel, code)
		out = append(out, series{fmt.Sprintf("%s{%s}", requests, a.labels(service, ns, codeLabel)), fmt.Sprintf("0+%dx20", n)})
		for _, le := range []float64{0.1, 0.25, 0.5, 1} {
			count := 0
			if le >= slowest {
				count = n
			}
			leLabel := fmt.Sprintf(`le="%g"`, le*scale)
			out = append(out, series{fmt.Sprintf("%s_bucket{%s}", a.m.Latency, a.labels(service, ns, codeLabel, leLabel)), fmt.Sprintf("0+%dx20", count)})
		}
		out = append(out, series{fmt.Sprintf("%s_bucket{%s}", a.m.Latency, a.labels(service, ns, codeLabel, `le="+Inf"`)), fmt.Sprintf("0+%dx20", n)})
	}
	return out
}

func drift(model, feature, psi string) series {
	return series{fmt.Sprintf(`%s{model=%q, version="7", feature=%q}`, modelgate.DriftMetric, model, feature), psi + "x20"}
}

var alertLabels = map[string]string{"model": "demand-forecast", "version": "7", "severity": "page"}

func annotations(summary, description string) map[string]string {
	return map[string]string{"summary": summary, "description": description, "dashboard": ruleTarget.Dashboard}
}

// cases are the unit tests: series that should fire and series that should
// not, for every alert.
func cases(a arms) []testGroup {
	quiet := func(alert string) alertTest { return alertTest{EvalTime: "12m", Alertname: alert} }
	firing := func(alert string, labels, ann map[string]string) alertTest {
		return alertTest{EvalTime: "12m", Alertname: alert, ExpAlerts: []expAlert{{labels, ann}}}
	}
	errorAnn := annotations("demand-forecast version 7: more than 1% of requests fail",
		"2% of demand-forecast's requests were answered with a 5xx over the last 5m (alert above 1%).")
	latencyAnn := annotations("demand-forecast version 7: p95 latency above 300ms",
		"95% of demand-forecast's requests were answered within 487.5ms over the last 5m (alert above 300ms).")
	driftLabels := map[string]string{"model": "demand-forecast", "version": "7", "severity": "page", "feature": "promo"}
	driftAnn := annotations("demand-forecast version 7: input promo drifts from the training data",
		"The population stability index of input promo against the training reference is 0.35 (alert above 0.2).")
	var noisy []series // other models and namespaces failing and slow: never this model's alert
	noisy = append(noisy, a.traffic("other-model", "mlops", 100, 900, 1)...)
	noisy = append(noisy, a.traffic("demand-forecast", "mlops-staging", 100, 900, 1)...)
	return []testGroup{
		{Interval: "1m", InputSeries: append(a.traffic("demand-forecast", "mlops", 980, 20, 0.1), noisy...), AlertRuleTest: []alertTest{
			{EvalTime: "4m", Alertname: modelgate.AlertErrorRate}, // pending until it held 5m
			firing(modelgate.AlertErrorRate, alertLabels, errorAnn), quiet(modelgate.AlertLatencyP95), quiet(modelgate.AlertDrift)}},
		{Interval: "1m", InputSeries: a.traffic("demand-forecast", "mlops", 995, 5, 0.25), AlertRuleTest: []alertTest{
			quiet(modelgate.AlertErrorRate), quiet(modelgate.AlertLatencyP95)}}, // 0.5% errors, p95 237.5ms
		{Interval: "1m", InputSeries: a.traffic("demand-forecast", "mlops", 5, 5, 1), AlertRuleTest: []alertTest{
			quiet(modelgate.AlertErrorRate), quiet(modelgate.AlertLatencyP95)}}, // 50 requests in 5m: too few
		{Interval: "1m", InputSeries: a.traffic("demand-forecast", "mlops", 1000, 0, 0.5), AlertRuleTest: []alertTest{
			quiet(modelgate.AlertErrorRate), firing(modelgate.AlertLatencyP95, alertLabels, latencyAnn)}},
		{Interval: "1m", InputSeries: []series{drift("demand-forecast", "promo", "0.35"), drift("demand-forecast", "store_id", "0.05"), drift("other-model", "promo", "0.9")},
			AlertRuleTest: []alertTest{{EvalTime: "4m", Alertname: modelgate.AlertDrift}, firing(modelgate.AlertDrift, driftLabels, driftAnn)}},
	}
}

// The rules are valid for promtool (check rules) and fire exactly when
// they should (test rules), on every family's series.
func TestRules_Promtool(t *testing.T) {
	tool := prometheustest.Promtool(t)
	for _, family := range []string{"knative", "knative-otel", "istio"} {
		t.Run(family, func(t *testing.T) {
			m, err := prometheus.Family(family)
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			rules, err := m.Rules(ruleTarget, prometheus.RuleOptions{}).YAML()
			if err != nil {
				t.Fatal(err)
			}
			writeFile(t, filepath.Join(dir, "rules.yaml"), rules)
			if out := runTool(t, tool, dir, "check", "rules", "rules.yaml"); !strings.Contains(out, "SUCCESS: 3 rules found") {
				t.Fatalf("promtool check rules:\n%s", out)
			}
			tests, err := yaml.Marshal(ruleTests{RuleFiles: []string{"rules.yaml"}, EvaluationInterval: "1m", Tests: cases(arms{m})})
			if err != nil {
				t.Fatal(err)
			}
			writeFile(t, filepath.Join(dir, "tests.yaml"), tests)
			if out := runTool(t, tool, dir, "test", "rules", "tests.yaml"); !strings.Contains(out, "SUCCESS") {
				t.Fatalf("promtool test rules:\n%s\ntests.yaml:\n%s", out, tests)
			}
		})
	}
}

// promtool check rules fails on what it should: the test above would pass
// vacuously if it did not.
func TestRules_PromtoolRefusesABrokenRule(t *testing.T) {
	tool := prometheustest.Promtool(t)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "rules.yaml"), []byte("groups:\n- name: x\n  rules:\n  - alert: A\n    expr: sum(rate(x[5m]) >\n"))
	cmd := exec.Command(tool, "check", "rules", "rules.yaml")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err == nil {
		t.Fatalf("promtool accepted a broken rule:\n%s", out)
	}
}

// RuleTarget.Revisions replaces Knative's revision names: in KServe's
// RawDeployment mode the alerts watch the stable predictor Deployment.
func TestRules_RawRevisions(t *testing.T) {
	m, _ := prometheus.Family("istio-raw")
	raw := ruleTarget
	raw.Revisions = "demand-forecast-predictor"
	b, err := m.Rules(raw, prometheus.RuleOptions{}).YAML()
	if err != nil {
		t.Fatal(err)
	}
	want := `istio_requests_total{destination_workload=~"demand-forecast-predictor", destination_workload_namespace="mlops", reporter="destination"}`
	if !strings.Contains(string(b), want) {
		t.Errorf("rules lack %q:\n%s", want, b)
	}
}

// Thresholds, windows and labels come from the options.
func TestRules_Options(t *testing.T) {
	m, _ := prometheus.Family("istio")
	th := modelgate.AlertThresholds{ErrorRate: 0.02, LatencyP95: 250_000_000, DriftPSI: 0.25, MinRequests: 50}
	f := m.Rules(ruleTarget, prometheus.RuleOptions{Thresholds: th, For: 600_000_000_000, Window: 120_000_000_000, Severity: "ticket", Labels: map[string]string{"team": "forecasting"}})
	b, err := f.YAML()
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	for _, want := range []string{
		`destination_workload=~"demand-forecast-predictor-[0-9]+-deployment", destination_workload_namespace="mlops", reporter="destination", response_code=~"5.."}[2m])) / `,
		") > 0.02\n", ">= 50", "/ 1000 > 0.25\n", "> 0.25\n", "for: 10m", "severity: ticket", "team: forecasting",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("rules lack %q:\n%s", want, text)
		}
	}
	if regexp.MustCompile(`for: 5m`).MatchString(text) {
		t.Errorf("the default for: is left:\n%s", text)
	}
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func runTool(t *testing.T, tool, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command(tool, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// A real Prometheus that loaded the rules says so (GET /api/v1/rules); one
// without them, or with another model's, does not.
func TestCheckRulesLoaded(t *testing.T) {
	m, _ := prometheus.Family("knative-otel")
	rules, err := m.Rules(ruleTarget, prometheus.RuleOptions{}).YAML()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		rules  []byte
		model  string
		status string
		detail string
	}{
		{"Loaded", rules, "demand-forecast", modelgate.MonitoringOK, "evaluates group modelgate.demand-forecast"},
		{"OtherModel", rules, "churn", modelgate.MonitoringMissing, "has not loaded the alerts ModelDriftHigh, ModelErrorRateHigh, ModelLatencyP95High of group modelgate.churn"},
		{"NoRules", nil, "demand-forecast", modelgate.MonitoringMissing, "has not loaded the alerts"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base := prometheustest.StartWithRules(t, "127.0.0.1:1", tc.rules)
			src, err := prometheus.New(prometheus.Options{URL: base}, func(context.Context, string) (prometheus.Split, error) { return prometheus.Split{}, nil })
			if err != nil {
				t.Fatal(err)
			}
			c := src.CheckRulesLoaded(ctx, tc.model)
			if c.Status != tc.status || !strings.Contains(c.Detail, tc.detail) {
				t.Errorf("CheckRulesLoaded(%s) = %+v, want %s containing %q", tc.model, c, tc.status, tc.detail)
			}
		})
	}
	src, _ := prometheus.New(prometheus.Options{URL: "http://127.0.0.1:1"}, func(context.Context, string) (prometheus.Split, error) { return prometheus.Split{}, nil })
	if c := src.CheckRulesLoaded(ctx, "demand-forecast"); c.Status != modelgate.MonitoringMissing || !strings.Contains(c.Detail, "cannot ask Prometheus") {
		t.Errorf("unreachable Prometheus: %+v", c)
	}
}
