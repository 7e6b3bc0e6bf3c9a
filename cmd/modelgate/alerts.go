package main

import (
	"context"
	"fmt"
	"regexp"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/kserve"
	promsrc "github.com/modelgate/modelgate/prometheus"
)

// alertsFlags are alerts' flags.
type alertsFlags struct {
	version, format string
	apply           bool
}

func newAlertsCmd(g *globals) *cobra.Command {
	var f alertsFlags
	cmd := &cobra.Command{
		Use:   "alerts MODEL [--version V] [--format rules|prometheusrule] [--apply]",
		Short: "Print the model's post-deployment alert rules for Prometheus (error rate, p95 latency, input drift)",
		Long: `Print a Prometheus rules file with the playbook's post-deployment alerts for
MODEL, on the series modelgate reads (metrics.family: Knative revision series
or Istio's), labelled model, version and severity:

  ModelErrorRateHigh   more than alerts.error_rate (1%) of requests answered with a 5xx
  ModelLatencyP95High  p95 latency above alerts.latency_p95 (300ms)
  ModelDriftHigh       an input's PSI against the training reference above alerts.drift_psi (0.2)

Error rate and latency are measured over alerts.rate_window (5m) once it holds
alerts.min_requests (100) requests; each alert fires after holding for
alerts.for (5m). The drift alert reads modelgate_feature_drift_psi, which no
modelgate component exports yet: until one does, it stays silent.

The version is the registry's production version unless --version names
another. Check the file with promtool check rules FILE.

--format prometheusrule prints the same rules as a prometheus-operator
PrometheusRule (monitoring.coreos.com/v1) named <service>-modelgate in
platform.production_namespace, labelled with alerts.rule_labels (what your
Prometheus's ruleSelector matches). --apply (platform kserve) applies it with
server-side apply (field manager modelgate; in GitOps mode it is written to
serving/prometheusrule.yaml instead) and records it in the audit trail; a
promotion's preconditions check that it exists (preconditions.monitoring).`,
		Example: `  modelgate alerts demand-forecast > demand-forecast-rules.yaml
  modelgate alerts demand-forecast --version 7 -o json
  modelgate alerts demand-forecast --apply`,
		Args: nArgs(1, "MODEL"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if f.format != "rules" && f.format != "prometheusrule" {
				return &usageErr{fmt.Errorf("--format must be rules or prometheusrule, not %q", f.format)}
			}
			return g.withReadApp(cmd, func(a *app) error { return g.alerts(cmd.Context(), a, args[0], f) })
		},
	}
	cmd.Flags().StringVar(&f.version, "version", "", "the version the rules are for (label version); default the production version")
	cmd.Flags().StringVar(&f.format, "format", "rules", "rules (a Prometheus rules file) or prometheusrule (the prometheus-operator's resource)")
	cmd.Flags().BoolVar(&f.apply, "apply", false, "apply the PrometheusRule to the cluster (platform kserve)")
	return cmd
}

func (g *globals) alerts(ctx context.Context, a *app, model string, f alertsFlags) error {
	rules, version, err := a.alertRules(ctx, model, f.version)
	if err != nil {
		return err
	}
	if f.apply || f.format == "prometheusrule" {
		return g.prometheusRule(ctx, a, model, version, rules, f.apply)
	}
	if g.json() {
		return g.printJSON(rules)
	}
	b, err := rules.YAML()
	if err != nil {
		return err
	}
	_, err = g.stdout.Write(b)
	return err
}

// alertRules renders model's rules for version (default: production's,
// returned).
func (a *app) alertRules(ctx context.Context, model, version string) (promsrc.RuleFile, string, error) {
	svc := a.service(nil)
	if version == "" {
		v, err := svc.ProductionVersion(ctx, model)
		if err != nil {
			return promsrc.RuleFile{}, "", err
		}
		version = v
	}
	links, _, err := svc.Links(ctx, model, version)
	if err != nil {
		return promsrc.RuleFile{}, "", err
	}
	rules, err := a.cfg.ruleFile(model, version, links.Dashboard)
	return rules, version, err
}

// ruleFile renders the configured rules of model's version.
func (c *Config) ruleFile(model, version, dashboard string) (promsrc.RuleFile, error) {
	po := prometheusOptions(c.Metrics.Prometheus)
	m, err := promsrc.MetricsFor(po.Family, po.Names)
	if err != nil {
		return promsrc.RuleFile{}, configErrorf("metrics: %s", err)
	}
	ko := kserveOptions(c.Platform.KServe)
	ns := ko.ProductionNamespace
	if ns == "" {
		ns = kserve.DefaultOptions().ProductionNamespace
	}
	t := promsrc.RuleTarget{Model: model, Version: version, Service: ko.ServiceName(model), Namespace: ns, Dashboard: dashboard}
	if ko.Raw() {
		// The stable predictor Deployment, not the candidate's: the alerts
		// watch production after the promotion.
		t.Revisions = regexp.QuoteMeta(kserve.PredictorName(t.Service))
	}
	al := c.Alerts
	return m.Rules(t, promsrc.RuleOptions{Thresholds: al.thresholds(), For: al.For.D(), Window: al.RateWindow.D(), Severity: al.Severity, Labels: al.Labels}), nil
}

// prometheusRule prints model's PrometheusRule, or applies it (audited).
func (g *globals) prometheusRule(ctx context.Context, a *app, model, version string, rules promsrc.RuleFile, apply bool) error {
	obj, err := kserveOptions(a.cfg.Platform.KServe).RenderPrometheusRule(model, version, rules.Groups, a.cfg.Alerts.RuleLabels)
	if err != nil {
		return err
	}
	if apply {
		if err := a.applyPrometheusRule(ctx, model, version, obj); err != nil {
			return err
		}
	}
	if g.json() {
		return g.printJSON(obj.Object)
	}
	if apply {
		fmt.Fprintf(g.stdout, "applied PrometheusRule %s/%s: %d alerts for %s version %s\n", obj.GetNamespace(), obj.GetName(), len(rules.Groups[0].Rules), model, version)
		return nil
	}
	b, err := kserve.Marshal(obj)
	if err != nil {
		return err
	}
	_, err = g.stdout.Write(b)
	return err
}

// applyPrometheusRule applies obj on KServe and records it in the audit
// trail with who did it.
func (a *app) applyPrometheusRule(ctx context.Context, model, version string, obj *unstructured.Unstructured) error {
	kd, ok := a.deployer.(*kserve.Deployer)
	if !ok {
		return configErrorf("alerts --apply: needs platform.type kserve; the local platform has no Prometheus to hold alert rules")
	}
	if err := kd.ApplyPrometheusRule(ctx, obj); err != nil {
		return err
	}
	name, source := actorAndSource()
	_, err := a.audit.Append(ctx, modelgate.AuditEntry{Time: time.Now().UTC(), Actor: name, ActorSource: source, Action: "alerts.apply", Model: model, Version: version,
		Outcome: "applied", Detail: fmt.Sprintf("PrometheusRule %s/%s", obj.GetNamespace(), obj.GetName())})
	return err
}
