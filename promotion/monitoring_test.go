package promotion_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/promotion"
)

// probed is a notifier with a dry check.
type probed struct {
	notes
	err error
}

func (p *probed) Probe(context.Context) error { return p.err }
func (p *probed) String() string              { return "probed" }

func rulesCheck(status string) func(context.Context, string) []modelgate.MonitoringCheck {
	return func(_ context.Context, model string) []modelgate.MonitoringCheck {
		return []modelgate.MonitoringCheck{{Name: "alert rules", Status: status, Detail: "PrometheusRule of " + model}}
	}
}

// monitoredService has the platform's rules check, a dashboard link and
// two notifiers, one offering a dry check.
func monitoredService(w *world, mode, rules string, probeErr error) *promotion.Service {
	svc := w.service("a")
	svc.Policy.Monitoring = mode
	svc.MonitoringChecks = rulesCheck(rules)
	svc.Policy.Links = map[string]string{"dashboard": "https://grafana.example.com/d/serving?var-model={model}"}
	svc.Notifier = modelgate.Notifiers{&probed{err: probeErr}, &notes{}}
	return svc
}

func preconditionsEvidence(t *testing.T, w *world, id string) modelgate.PreconditionsEvidence {
	t.Helper()
	steps, err := w.store.Steps(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	ev, _ := modelgate.FindEvidence[modelgate.PreconditionsEvidence](steps)
	return ev
}

// Under preconditions.monitoring: error a missing check refuses the
// promotion, naming it, and stores nothing; with everything in place it
// starts and records the checks.
func TestPromote_MonitoringError(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name, rules string
		probeErr    error
		want        string
	}{
		{"NoRules", modelgate.MonitoringMissing, nil, "monitoring is not in place (preconditions.monitoring: error): alert rules: PrometheusRule of demand-forecast"},
		{"NotifierDown", modelgate.MonitoringOK, modelgate.Errorf(modelgate.EUNAVAILABLE, "connection refused"), "notifier probed: unreachable: connection refused"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			_, err := monitoredService(w, "error", tc.rules, tc.probeErr).Start(ctx, model, "2")
			if modelgate.ErrorCode(err) != modelgate.EPRECONDITION || !strings.Contains(modelgate.ErrorMessage(err), tc.want) {
				t.Fatalf("Start = %v, want EPRECONDITION containing %q", err, tc.want)
			}
			if ps, _ := w.store.ListPromotions(ctx, model); len(ps) != 0 {
				t.Fatalf("a promotion was stored: %+v", ps[0])
			}
		})
	}
	w := newWorld(t)
	p, err := monitoredService(w, "error", modelgate.MonitoringOK, nil).Start(ctx, model, "2")
	if err != nil {
		t.Fatal(err)
	}
	want := &modelgate.MonitoringEvidence{Mode: "error", Checks: []modelgate.MonitoringCheck{
		{Name: "alert rules", Status: "ok", Detail: "PrometheusRule of demand-forecast"},
		{Name: "dashboard", Status: "ok", Detail: "https://grafana.example.com/d/serving?var-model=demand-forecast"},
		{Name: "notifier probed", Status: "ok", Detail: "reachable (dry check: nothing sent)"},
		{Name: "notifier *promotion_test.notes", Status: "skipped", Detail: "it offers no dry check, so its reachability is not known before it is used"},
	}}
	if diff := cmp.Diff(want, preconditionsEvidence(t, w, p.ID).Monitoring); diff != "" {
		t.Errorf("monitoring evidence (-want +got):\n%s", diff)
	}
}

// Under preconditions.monitoring: warn (the default) missing checks are
// recorded and shown, and the promotion goes on; off checks nothing.
func TestPromote_MonitoringWarnAndOff(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	svc := monitoredService(w, "", modelgate.MonitoringMissing, errors.New("refused"))
	svc.Policy.Links = nil
	var progress []string
	svc.Progress = func(e promotion.Event) { progress = append(progress, e.Message) }
	p, err := svc.Start(ctx, model, "2")
	if err != nil {
		t.Fatal(err)
	}
	ev := preconditionsEvidence(t, w, p.ID).Monitoring
	wantProblems := []string{"alert rules: PrometheusRule of demand-forecast",
		"dashboard: no dashboard link: set records.links.dashboard, or tag the version link.dashboard", "notifier probed: unreachable: refused"}
	if ev == nil || ev.Mode != "warn" || !cmp.Equal(ev.Problems(), wantProblems) {
		t.Errorf("monitoring evidence %+v, want warn with problems %q", ev, wantProblems)
	}
	if !strings.Contains(strings.Join(progress, "\n"), "WARNING: monitoring is not in place (preconditions.monitoring: warn, so the promotion goes on): alert rules:") {
		t.Errorf("progress does not warn:\n%s", strings.Join(progress, "\n"))
	}

	w = newWorld(t)
	p, err = monitoredService(w, "off", modelgate.MonitoringMissing, errors.New("refused")).Start(ctx, model, "2")
	if err != nil {
		t.Fatal(err)
	}
	if ev := preconditionsEvidence(t, w, p.ID).Monitoring; ev == nil || ev.Mode != "off" || len(ev.Checks) != 0 {
		t.Errorf("monitoring off: %+v, want no checks", ev)
	}
}
