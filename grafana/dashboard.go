package grafana

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Family names the platform's per-revision series (prometheus.Metrics).
type Family struct {
	Requests       string // a request counter; "" counts Latency's _count
	Latency        string // the latency histogram's base name
	LatencyUnit    string // "ms" or "s"
	RevisionLabel  string
	NamespaceLabel string // "" when the series carry none
	CodeLabel      string
	Matchers       []string // extra matchers, e.g. reporter="destination"
}

// Options is the dashboard to write.
type Options struct {
	Title  string // default "modelgate: canary against production"
	UID    string // default "modelgate-canary"
	Family Family
	// ModelSeries is the series the model variable lists the models of;
	// default modelgate_promotions_started_total (the local gateway's
	// modelgate_gateway_requests_total names served models at once).
	ModelSeries string
}

// Dashboard returns the dashboard as indented JSON.
func Dashboard(o Options) ([]byte, error) {
	if o.Family.Latency == "" || o.Family.RevisionLabel == "" || o.Family.CodeLabel == "" {
		return nil, fmt.Errorf("grafana: the family needs latency, revision and code label names")
	}
	if o.Title == "" {
		o.Title = "modelgate: canary against production"
	}
	if o.UID == "" {
		o.UID = "modelgate-canary"
	}
	if o.ModelSeries == "" {
		o.ModelSeries = "modelgate_promotions_started_total"
	}
	var l layout
	l.row("Platform: canary against production, per revision (the series modelgate reads)")
	l.add(platformPanels(o.Family)...)
	l.row("Local gateway: canary against production (modelgate_gateway_*)")
	l.add(gatewayPanels()...)
	l.row("Promotions and the judge (what a modelgate server exports)")
	l.add(promotionPanels()...)
	d := map[string]any{
		"id": nil, "uid": o.UID, "title": o.Title, "tags": []string{"modelgate", "canary"},
		"timezone": "browser", "editable": true, "schemaVersion": 39, "version": 1, "refresh": "30s",
		"time":        map[string]string{"from": "now-1h", "to": "now"},
		"annotations": map[string]any{"list": []any{}},
		"templating":  map[string]any{"list": variables(o.Family, o.ModelSeries)},
		"panels":      l.panels,
	}
	return json.MarshalIndent(d, "", "  ")
}

// ds is every panel's and query variable's datasource: the variable.
var ds = map[string]string{"type": "prometheus", "uid": "${datasource}"}

func variables(f Family, models string) []any {
	vars := []any{
		map[string]any{"name": "datasource", "label": "Prometheus", "type": "datasource", "query": "prometheus", "current": map[string]any{}},
		queryVar("model", "label_values("+models+", model)"),
	}
	if f.NamespaceLabel != "" {
		vars = append(vars, queryVar("namespace", fmt.Sprintf("label_values(%s_count, %s)", f.Latency, f.NamespaceLabel)))
	}
	return append(vars, queryVar("revision", fmt.Sprintf("label_values(%s, %s)", f.selector(f.Latency+"_count", ""), f.RevisionLabel)))
}

func queryVar(name, query string) map[string]any {
	return map[string]any{"name": name, "type": "query", "datasource": ds, "query": query, "refresh": 2,
		"multi": true, "includeAll": true, "allValue": ".*", "current": map[string]any{}}
}

// selector is a family series with the dashboard's filters (and extra).
func (f Family) selector(metric, extra string) string {
	var m []string
	if f.NamespaceLabel != "" {
		m = append(m, f.NamespaceLabel+`=~"$namespace"`)
	}
	m = append(m, f.RevisionLabel+`=~"$revision"`)
	m = append(m, f.Matchers...)
	if extra != "" {
		m = append(m, extra)
	}
	return metric + "{" + strings.Join(m, ", ") + "}"
}

func platformPanels(f Family) []panel {
	req := f.Requests
	if req == "" {
		req = f.Latency + "_count"
	}
	by := f.RevisionLabel
	rate := func(sel string) string { return fmt.Sprintf("sum by (%s) (rate(%s[$__rate_interval]))", by, sel) }
	scale := ""
	if f.LatencyUnit == "ms" {
		scale = " / 1000"
	}
	p95 := fmt.Sprintf("histogram_quantile(0.95, sum by (%s, le) (rate(%s[$__rate_interval])))%s", by, f.selector(f.Latency+"_bucket", ""), scale)
	return []panel{
		timeseries("Requests per second, per revision", "reqps", target(rate(f.selector(req, "")), "{{"+by+"}}")),
		timeseries("Error ratio (5xx), per revision", "percentunit",
			target(rate(f.selector(req, f.CodeLabel+`=~"5.."`))+" / "+rate(f.selector(req, "")), "{{"+by+"}}")),
		timeseries("Latency p95, per revision", "s", target(p95, "{{"+by+"}}")),
	}
}

func gatewayPanels() []panel {
	sel := func(m string) string { return m + `{model=~"$model"}` }
	return []panel{
		timeseries("Requests per second, canary and production", "reqps",
			target(`sum by (model, arm, version) (rate(`+sel("modelgate_gateway_requests_total")+`[$__rate_interval]))`, "{{model}} {{arm}} v{{version}}")),
		timeseries("Error ratio (5xx), canary and production", "percentunit",
			target(`sum by (model, arm) (rate(`+sel("modelgate_gateway_errors_total")+`[$__rate_interval])) / sum by (model, arm) (rate(`+sel("modelgate_gateway_requests_total")+`[$__rate_interval]))`, "{{model}} {{arm}}")),
		timeseries("Latency p95, canary and production", "s",
			target(`modelgate_gateway_request_duration_seconds{model=~"$model", quantile="0.95"}`, "{{model}} {{arm}} v{{version}}")),
	}
}

func promotionPanels() []panel {
	return []panel{
		timeseries("Judge: current verdict per check (1 = this verdict)", "none",
			target(`modelgate_judge_check_verdict{model=~"$model"} == 1`, "{{model}} {{check}}: {{verdict}}")),
		timeseries("Judge: current decision", "none", target(`modelgate_judge_decision{model=~"$model"} == 1`, "{{model}}: {{decision}}")),
		timeseries("Canary window: elapsed and remaining", "s",
			target(`modelgate_canary_window_elapsed_seconds{model=~"$model"}`, "{{model}} elapsed"),
			target(`modelgate_canary_window_remaining_seconds{model=~"$model"}`, "{{model}} remaining")),
		timeseries("Promotions started and ended", "none",
			target(`sum by (model) (increase(modelgate_promotions_started_total{model=~"$model"}[1h]))`, "{{model}} started"),
			target(`sum by (model, outcome) (increase(modelgate_promotions_ended_total{model=~"$model"}[1h]))`, "{{model}} {{outcome}}")),
		timeseries("Step duration p95", "s",
			target(`histogram_quantile(0.95, sum by (step, le) (rate(modelgate_promotion_step_duration_seconds_bucket{model=~"$model"}[6h])))`, "{{step}}")),
		timeseries("Audit appends and API requests", "reqps",
			target(`sum by (result) (rate(modelgate_audit_appends_total{}[$__rate_interval]))`, "audit {{result}}"),
			target(`sum by (route, code) (rate(modelgate_api_requests_total{}[$__rate_interval]))`, "{{route}} {{code}}")),
	}
}
