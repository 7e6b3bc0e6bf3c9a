package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/modelgate/modelgate/kserve"
	promsrc "github.com/modelgate/modelgate/prometheus"
)

func newAlertsCmd(g *globals) *cobra.Command {
	var version string
	cmd := &cobra.Command{
		Use:   "alerts MODEL [--version V]",
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
another. Check the file with promtool check rules FILE.`,
		Example: `  modelgate alerts demand-forecast > demand-forecast-rules.yaml
  modelgate alerts demand-forecast --version 7 -o json`,
		Args: nArgs(1, "MODEL"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.withReadApp(cmd, func(a *app) error { return g.alerts(cmd.Context(), a, args[0], version) })
		},
	}
	cmd.Flags().StringVar(&version, "version", "", "the version the rules are for (label version); default the production version")
	return cmd
}

func (g *globals) alerts(ctx context.Context, a *app, model, version string) error {
	rules, err := a.alertRules(ctx, model, version)
	if err != nil {
		return err
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

// alertRules renders model's rules for version (default: production's).
func (a *app) alertRules(ctx context.Context, model, version string) (promsrc.RuleFile, error) {
	svc := a.service(nil)
	if version == "" {
		v, err := svc.ProductionVersion(ctx, model)
		if err != nil {
			return promsrc.RuleFile{}, err
		}
		version = v
	}
	links, _, err := svc.Links(ctx, model, version)
	if err != nil {
		return promsrc.RuleFile{}, err
	}
	c := a.cfg
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
	t := promsrc.RuleTarget{Model: model, Version: version, Service: ko.ServiceName(model), Namespace: ns, Dashboard: links.Dashboard}
	al := c.Alerts
	return m.Rules(t, promsrc.RuleOptions{Thresholds: al.thresholds(), For: al.For.D(), Window: al.RateWindow.D(), Severity: al.Severity, Labels: al.Labels}), nil
}
