package prometheus

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/modelgate/modelgate"
)

// RuleFile is a Prometheus rules file (rule_files), whose groups are also
// a PrometheusRule's spec.groups.
type RuleFile struct {
	Groups []RuleGroup `yaml:"groups" json:"groups"`
}

// RuleGroup is one group of rules, evaluated together.
type RuleGroup struct {
	Name  string `yaml:"name" json:"name"`
	Rules []Rule `yaml:"rules" json:"rules"`
}

// Rule is one alerting rule.
type Rule struct {
	Alert       string            `yaml:"alert" json:"alert"`
	Expr        string            `yaml:"expr" json:"expr"`
	For         string            `yaml:"for,omitempty" json:"for,omitempty"`
	Labels      map[string]string `yaml:"labels,omitempty" json:"labels,omitempty"`
	Annotations map[string]string `yaml:"annotations,omitempty" json:"annotations,omitempty"`
}

// RuleTarget is what the rules watch: a model served by KServe, whose
// production revisions are <Service>-predictor-<n> in Namespace, and the
// version the rules are written for (a label on every alert).
type RuleTarget struct {
	Model     string
	Version   string
	Service   string // the InferenceService's name
	Namespace string // production's namespace; "" matches any
	// Revisions is a regular expression of production's revision names;
	// "" is Knative's, <Service>-predictor-<n>. KServe's RawDeployment
	// mode has one predictor Deployment, <Service>-predictor.
	Revisions string
	// Dashboard, when set, is linked from every alert (annotation
	// dashboard).
	Dashboard string
}

// RuleOptions tune the rules. Zero fields take their defaults.
type RuleOptions struct {
	Thresholds modelgate.AlertThresholds // default modelgate.DefaultAlertThresholds
	For        time.Duration             // how long a condition holds before the alert fires; default 5m
	Window     time.Duration             // the rate window; default 5m
	Severity   string                    // the severity label; default "page"
	Labels     map[string]string         // added to every alert, e.g. team
}

// GroupName is the name of a model's rule group: modelgate.<model>.
func GroupName(model string) string { return "modelgate." + model }

// Rules returns the playbook's three post-deployment alerts for t on m's
// series: the share of requests answered with a 5xx above
// Thresholds.ErrorRate, the p95 latency above Thresholds.LatencyP95 (both
// over the rate window and once it holds at least MinRequests requests),
// and any input's modelgate.DriftMetric above Thresholds.DriftPSI. Each
// fires after holding for For, labelled model, version and severity.
func (m Metrics) Rules(t RuleTarget, o RuleOptions) RuleFile {
	o = o.withDefaults()
	g := RuleGroup{Name: GroupName(t.Model), Rules: []Rule{m.errorRateRule(t, o), m.latencyRule(t, o), driftRule(t, o)}}
	for i := range g.Rules {
		r := &g.Rules[i]
		r.For = promDuration(o.For)
		r.Labels = map[string]string{"model": t.Model, "version": t.Version, "severity": o.Severity}
		for k, v := range o.Labels {
			r.Labels[k] = v
		}
		if t.Dashboard != "" {
			r.Annotations["dashboard"] = t.Dashboard
		}
	}
	return RuleFile{Groups: []RuleGroup{g}}
}

func (o RuleOptions) withDefaults() RuleOptions {
	o.Thresholds = o.Thresholds.OrDefaults()
	if o.For <= 0 {
		o.For = 5 * time.Minute
	}
	if o.Window <= 0 {
		o.Window = 5 * time.Minute
	}
	if o.Severity == "" {
		o.Severity = "page"
	}
	return o
}

func (m Metrics) errorRateRule(t RuleTarget, o RuleOptions) Rule {
	requests, w := m.requestSeries(), promDuration(o.Window)
	all := m.ruleSelector(requests, t)
	errs := m.ruleSelector(requests, t, fmt.Sprintf(`%s=~"5.."`, m.CodeLabel))
	th := o.Thresholds
	expr := fmt.Sprintf("sum(rate(%s[%s])) / sum(rate(%s[%s])) > %s\nand sum(increase(%s[%s])) >= %d",
		errs, w, all, w, num(th.ErrorRate), all, w, th.MinRequests)
	return Rule{Alert: modelgate.AlertErrorRate, Expr: expr, Annotations: map[string]string{
		"summary": fmt.Sprintf("%s version %s: more than %s of requests fail", t.Model, t.Version, percent(th.ErrorRate)),
		"description": fmt.Sprintf("{{ $value | humanizePercentage }} of %s's requests were answered with a 5xx over the last %s (alert above %s).",
			t.Model, w, percent(th.ErrorRate)),
	}}
}

func (m Metrics) latencyRule(t RuleTarget, o RuleOptions) Rule {
	w, th := promDuration(o.Window), o.Thresholds
	p95 := fmt.Sprintf("histogram_quantile(0.95, sum by (le) (rate(%s[%s])))", m.ruleSelector(m.Latency+"_bucket", t), w)
	if m.LatencyUnit == "ms" {
		p95 += " / 1000"
	}
	expr := fmt.Sprintf("%s > %s\nand sum(increase(%s[%s])) >= %d", p95, num(th.LatencyP95.Seconds()), m.ruleSelector(m.requestSeries(), t), w, th.MinRequests)
	return Rule{Alert: modelgate.AlertLatencyP95, Expr: expr, Annotations: map[string]string{
		"summary": fmt.Sprintf("%s version %s: p95 latency above %s", t.Model, t.Version, th.LatencyP95),
		"description": fmt.Sprintf("95%% of %s's requests were answered within {{ $value | humanizeDuration }} over the last %s (alert above %s).",
			t.Model, w, th.LatencyP95),
	}}
}

// driftRule fires per input on modelgate.DriftMetric, which nothing
// exports yet (see its documentation): until something does, it is silent.
func driftRule(t RuleTarget, o RuleOptions) Rule {
	th := o.Thresholds
	expr := fmt.Sprintf("max by (feature) (%s{model=%q}) > %s", modelgate.DriftMetric, t.Model, num(th.DriftPSI))
	return Rule{Alert: modelgate.AlertDrift, Expr: expr, Annotations: map[string]string{
		"summary": fmt.Sprintf("%s version %s: input {{ $labels.feature }} drifts from the training data", t.Model, t.Version),
		"description": fmt.Sprintf(`The population stability index of input {{ $labels.feature }} against the training reference is {{ $value | printf "%%.2f" }} (alert above %s).`,
			num(th.DriftPSI)),
	}}
}

// requestSeries is the request counter, or the latency histogram's count.
func (m Metrics) requestSeries() string {
	if m.Requests != "" {
		return m.Requests
	}
	return m.Latency + "_count"
}

// ruleSelector selects metric for every production revision of t's
// service, with extra matchers.
func (m Metrics) ruleSelector(metric string, t RuleTarget, extra ...string) string {
	revisions := t.Revisions
	if revisions == "" {
		revisions = regexp.QuoteMeta(t.Service) + "-predictor-[0-9]+"
	}
	value := strings.ReplaceAll(m.RevisionValue, "{revision}", revisions)
	if m.RevisionValue == "" {
		value = revisions
	}
	parts := []string{fmt.Sprintf("%s=~%q", m.RevisionLabel, value)}
	if m.NamespaceLabel != "" && t.Namespace != "" {
		parts = append(parts, fmt.Sprintf("%s=%q", m.NamespaceLabel, t.Namespace))
	}
	parts = append(append(parts, m.Matchers...), extra...)
	return metric + "{" + strings.Join(parts, ", ") + "}"
}

// YAML renders the rules file.
func (f RuleFile) YAML() ([]byte, error) {
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(f); err != nil {
		return nil, fmt.Errorf("encode rules: %w", err)
	}
	return b.Bytes(), enc.Close()
}

// promDuration writes d as Prometheus writes durations: 5m, 1h30m, 90s.
func promDuration(d time.Duration) string {
	if d <= 0 {
		return "0s"
	}
	var b strings.Builder
	for _, u := range []struct {
		unit string
		d    time.Duration
	}{{"h", time.Hour}, {"m", time.Minute}, {"s", time.Second}, {"ms", time.Millisecond}} {
		if n := d / u.d; n > 0 {
			fmt.Fprintf(&b, "%d%s", n, u.unit)
			d -= n * u.d
		}
	}
	return b.String()
}

func num(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

func percent(r float64) string { return num(100*r) + "%" }

// CheckRulesLoaded asks Prometheus (GET /api/v1/rules) whether it has
// loaded model's rule group (GroupName) with all three alerts: a
// MonitoringCheck for the promotion's preconditions.
func (s *MetricsSource) CheckRulesLoaded(ctx context.Context, model string) modelgate.MonitoringCheck {
	c := modelgate.MonitoringCheck{Name: "alert rules loaded by Prometheus"}
	var data struct {
		Groups []struct {
			Name  string `json:"name"`
			File  string `json:"file"`
			Rules []struct {
				Name string `json:"name"`
			} `json:"rules"`
		} `json:"groups"`
	}
	if err := s.get(ctx, "/api/v1/rules", url.Values{"type": {"alert"}}, "the rules request", &data); err != nil {
		c.Status, c.Detail = modelgate.MonitoringMissing, "cannot ask Prometheus: "+modelgate.ErrorMessage(err)
		return c
	}
	group := GroupName(model)
	want := map[string]bool{modelgate.AlertErrorRate: true, modelgate.AlertLatencyP95: true, modelgate.AlertDrift: true}
	for _, g := range data.Groups {
		if g.Name != group {
			continue
		}
		for _, r := range g.Rules {
			delete(want, r.Name)
		}
		if len(want) == 0 {
			c.Status, c.Detail = modelgate.MonitoringOK, fmt.Sprintf("Prometheus at %s evaluates group %s (%s)", s.base, group, g.File)
			return c
		}
	}
	c.Status = modelgate.MonitoringMissing
	c.Detail = fmt.Sprintf("Prometheus at %s has not loaded the alerts %s of group %s (is the PrometheusRule selected by its ruleSelector?)", s.base, strings.Join(slices.Sorted(maps.Keys(want)), ", "), group)
	return c
}
