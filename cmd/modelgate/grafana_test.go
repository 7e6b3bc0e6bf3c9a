package main

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"regexp"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/httpapi"
	promsrc "github.com/modelgate/modelgate/prometheus"
	"github.com/modelgate/modelgate/promexport"
	"github.com/modelgate/modelgate/promotion"
)

// The dashboard is importable Classic JSON, and every series it queries is
// one modelgate exports or reads, for every family.
func TestGrafanaDashboard(t *testing.T) {
	known := exportedNames(t)
	for _, family := range []string{"knative", "knative-otel", "istio"} {
		t.Run(family, func(t *testing.T) {
			m, err := promsrc.Family(family)
			if err != nil {
				t.Fatal(err)
			}
			reads := map[string]bool{m.Latency + "_bucket": true, m.Latency + "_count": true}
			if m.Requests != "" {
				reads[m.Requests] = true
			}
			code, out, errs := runCLI(t, "grafana", "--family", family)
			if code != 0 {
				t.Fatalf("grafana: exit %d: %s", code, errs)
			}
			var d dashboard
			if err := json.Unmarshal([]byte(out), &d); err != nil {
				t.Fatal(err)
			}
			checkDashboard(t, d)
			series := d.series()
			if !slices.Contains(series, m.Latency+"_bucket") || !slices.Contains(series, "modelgate_judge_check_verdict") || len(series) < 12 {
				t.Fatalf("the dashboard queries too little: %v", series)
			}
			for _, name := range series {
				if !known[name] && !reads[name] {
					t.Errorf("the dashboard queries %s, which modelgate neither exports nor reads", name)
				}
			}
		})
	}
}

// dashboard is what the test reads of the Classic JSON.
type dashboard struct {
	ID            *int   `json:"id"`
	UID           string `json:"uid"`
	SchemaVersion int    `json:"schemaVersion"`
	Templating    struct {
		List []struct{ Name, Type, Query string } `json:"list"`
	} `json:"templating"`
	Panels []struct {
		Type       string
		Datasource struct{ Type, UID string }
		Targets    []struct{ Expr string }
	} `json:"panels"`
}

func checkDashboard(t *testing.T, d dashboard) {
	t.Helper()
	if d.ID != nil || d.UID == "" || d.SchemaVersion == 0 || len(d.Panels) == 0 {
		t.Fatalf("not importable Classic JSON: id %v, uid %q, schemaVersion %d, %d panels", d.ID, d.UID, d.SchemaVersion, len(d.Panels))
	}
	if v := d.Templating.List; len(v) == 0 || v[0].Name != "datasource" || v[0].Type != "datasource" || v[0].Query != "prometheus" {
		t.Fatalf("no Prometheus datasource variable first: %+v", v)
	}
	for _, p := range d.Panels {
		if p.Type != "row" && (p.Datasource.UID != "${datasource}" || len(p.Targets) == 0) {
			t.Errorf("panel %+v does not query the datasource variable", p)
		}
	}
}

var seriesName = regexp.MustCompile(`([a-zA-Z_:][a-zA-Z0-9_:]*)\{|label_values\(([a-zA-Z_:][a-zA-Z0-9_:]*)`)

// series lists the metric names the panels and variables query.
func (d dashboard) series() []string {
	var exprs []string
	for _, p := range d.Panels {
		for _, tg := range p.Targets {
			exprs = append(exprs, tg.Expr)
		}
	}
	for _, v := range d.Templating.List {
		exprs = append(exprs, v.Query)
	}
	seen := map[string]bool{}
	for _, e := range exprs {
		for _, m := range seriesName.FindAllStringSubmatch(e, -1) {
			seen[m[1]+m[2]] = true
		}
	}
	out := make([]string, 0, len(seen))
	for n := range seen {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// exportedNames are the series a server exposes, histograms' and
// summaries' with their suffixes, every metric made to have a series.
func exportedNames(t *testing.T) map[string]bool {
	t.Helper()
	reg := prometheus.NewRegistry()
	m, err := promexport.NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	m.Started(&modelgate.Promotion{Model: "m"})
	m.Progress(modelgate.Event{Model: "m", Window: &modelgate.Window{}, Judgement: &modelgate.Judgement{Checks: []modelgate.Check{{Name: "c"}}}})
	now := time.Now()
	m.Ended(&modelgate.Promotion{Model: "n", Outcome: modelgate.OutcomePromoted}, []*modelgate.StepRecord{{Step: "window", StartedAt: now, EndedAt: now}}, time.Time{})
	w := &modelgate.Window{Stable: modelgate.RevisionStats{Version: "1"}}
	reg.MustRegister(&promexport.GatewayCollector{Source: fixedWindow{w}, Models: func(context.Context) ([]string, error) { return []string{"m"}, nil }})
	api := httpapi.NewServer(&promotion.Runner{}, &httpapi.Tokens{}, nopAudit{})
	api.Registerer = reg
	h, err := api.Handler()
	if err != nil {
		t.Fatal(err)
	}
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/healthz", nil))
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, f := range families {
		n := f.GetName()
		names[n] = true
		for _, suffix := range []string{"_bucket", "_count", "_sum"} {
			names[n+suffix] = true
		}
	}
	return names
}

type nopAudit struct{}

func (nopAudit) Append(_ context.Context, e modelgate.AuditEntry) (modelgate.AuditEntry, error) {
	return e, nil
}

type fixedWindow struct{ w *modelgate.Window }

func (f fixedWindow) Observe(context.Context, string) (*modelgate.Window, error) { return f.w, nil }
