package promotion

import (
	"context"
	"strings"

	"github.com/modelgate/modelgate"
)

// checkMonitoring is the playbook's precondition "monitoring dashboards
// and alerts configured for the new model": the platform's alert rules
// (MonitoringChecks), a dashboard link, and every notifier's dry check.
// Under Policy.Monitoring "error" a missing check is a problem that stops
// the promotion; under "warn" it is only recorded (and shown).
func (s *Service) checkMonitoring(ctx context.Context, p *modelgate.Promotion, links modelgate.Links) (*modelgate.MonitoringEvidence, []string) {
	mode := s.Policy.Monitoring
	if mode == "" {
		mode = "warn"
	}
	ev := &modelgate.MonitoringEvidence{Mode: mode}
	if mode == "off" {
		return ev, nil
	}
	if s.MonitoringChecks != nil {
		ev.Checks = append(ev.Checks, s.MonitoringChecks(ctx, p.Model)...)
	}
	ev.Checks = append(ev.Checks, dashboardCheck(links))
	ev.Checks = append(ev.Checks, s.notifierChecks(ctx)...)
	problems := ev.Problems()
	if len(problems) == 0 {
		return ev, nil
	}
	if mode == "error" {
		return ev, []string{"monitoring is not in place (preconditions.monitoring: error): " + strings.Join(problems, "; ")}
	}
	s.emit(p, "WARNING: monitoring is not in place (preconditions.monitoring: warn, so the promotion goes on): "+strings.Join(problems, "; "), nil)
	return ev, nil
}

func dashboardCheck(links modelgate.Links) modelgate.MonitoringCheck {
	c := modelgate.MonitoringCheck{Name: "dashboard"}
	if links.Dashboard == "" {
		c.Status, c.Detail = modelgate.MonitoringMissing, "no dashboard link: set records.links.dashboard, or tag the version link.dashboard"
		return c
	}
	c.Status, c.Detail = modelgate.MonitoringOK, links.Dashboard
	return c
}

// notifierChecks dry-checks every notifier that offers it.
func (s *Service) notifierChecks(ctx context.Context) []modelgate.MonitoringCheck {
	switch n := s.Notifier.(type) {
	case nil:
		return []modelgate.MonitoringCheck{{Name: "notifications", Status: modelgate.MonitoringSkipped, Detail: "none configured (notify:)"}}
	case modelgate.Notifiers:
		return n.Probe(ctx)
	default:
		return modelgate.Notifiers{n}.Probe(ctx)
	}
}
