package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/modelgate/modelgate/grafana"
	promsrc "github.com/modelgate/modelgate/prometheus"
)

func newGrafanaCmd(g *globals) *cobra.Command {
	var family string
	cmd := &cobra.Command{
		Use:   "grafana",
		Short: "Print a Grafana dashboard (JSON) of the canary against production",
		Long: `Print a Grafana dashboard, Classic JSON ("id": null, a Prometheus datasource
variable), to import in Grafana (Dashboards > New > Import). Its panels put the
canary against production on the per-revision series modelgate reads on KServe
(metrics.family and metrics.names, or --family), on the local gateway's figures
and on what 'modelgate server' exports (/metrics): the judge's verdict per check,
the window's time, promotions and their steps, audit appends, API requests.`,
		Example: `  modelgate grafana > modelgate-dashboard.json
  modelgate grafana --family istio`,
		Args: nArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := g.config(cmd)
			if err != nil {
				return err
			}
			if family != "" {
				cfg.Metrics.Prometheus.Family = family
			}
			f, err := dashboardFamily(cfg.Metrics.Prometheus)
			if err != nil {
				return err
			}
			opts := grafana.Options{Family: f}
			if cfg.Platform.Type == "local" {
				opts.ModelSeries = "modelgate_gateway_requests_total"
			}
			b, err := grafana.Dashboard(opts)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(g.stdout, string(b))
			return err
		},
	}
	cmd.Flags().StringVar(&family, "family", "", "series family: knative, knative-otel, istio or istio-raw (overrides metrics.family)")
	return cmd
}

// dashboardFamily resolves the configured family and name overrides as
// the Prometheus metrics source does.
func dashboardFamily(c PrometheusConfig) (grafana.Family, error) {
	o := prometheusOptions(c)
	o.URL = "http://prometheus.invalid" // only the names are wanted
	src, err := promsrc.New(o, func(context.Context, string) (promsrc.Split, error) { return promsrc.Split{}, nil })
	if err != nil {
		return grafana.Family{}, configErrorf("metrics: %v", err)
	}
	m := src.Metrics()
	return grafana.Family{Requests: m.Requests, Latency: m.Latency, LatencyUnit: m.LatencyUnit, RevisionLabel: m.RevisionLabel,
		NamespaceLabel: m.NamespaceLabel, CodeLabel: m.CodeLabel, Matchers: m.Matchers}, nil
}
