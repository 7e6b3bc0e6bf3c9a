package report

import (
	"fmt"
	"strings"

	"github.com/modelgate/modelgate"
)

// writeIncident shows the rollback procedure's ticket, due date and bundle.
func writeIncident(b *strings.Builder, steps []*modelgate.StepRecord) {
	in, ok := modelgate.FindEvidence[modelgate.IncidentEvidence](steps)
	if !ok {
		return
	}
	b.WriteString("## Incident\n\n")
	fmt.Fprintf(b, "- **Post-mortem due: %s.**\n", stamp(in.Due))
	switch {
	case in.Ticket != nil:
		fmt.Fprintf(b, "- Ticket: [%s %s](%s)\n", in.Ticket.System, in.Ticket.ID, in.Ticket.URL)
	case in.TicketError != "":
		fmt.Fprintf(b, "- Ticket: **not opened** (%s); open one by hand.\n", in.TicketError)
	default:
		b.WriteString("- Ticket: none configured (`incidents:` in modelgate.yaml).\n")
	}
	switch {
	case in.Bundle != "":
		fmt.Fprintf(b, "- Post-mortem bundle: `%s` (also unpacked in `%s`)\n", in.Bundle, in.BundleDir)
	case in.BundleError != "":
		fmt.Fprintf(b, "- Post-mortem bundle: **not written** (%s)\n", in.BundleError)
	}
	b.WriteString("\n")
}

// writeBaseline puts the canary and production beside the baseline
// recorded when production's version was promoted.
func writeBaseline(b *strings.Builder, p *modelgate.Promotion, w modelgate.WindowEvidence) {
	base := w.Baseline
	if base == nil {
		fmt.Fprintf(b, "No baseline of version %s: modelgate did not promote it, or promoted it before baselines were kept.\n\n", p.Previous)
		return
	}
	c, s := w.Figures.Canary, w.Figures.Stable
	fmt.Fprintf(b, "### Against the baseline of version %s\n\n| figure | canary | production now | baseline |\n|---|---|---|---|\n", p.Previous)
	fmt.Fprintf(b, "| error rate | %.2f%% | %.2f%% | %.2f%% |\n", 100*c.ErrorRate(), 100*s.ErrorRate(), 100*base.ErrorRate())
	fmt.Fprintf(b, "| p50 latency | %.0f ms | %.0f ms | %.0f ms |\n", c.LatencyMS.P50, s.LatencyMS.P50, base.LatencyMS.P50)
	fmt.Fprintf(b, "| p95 latency | %.0f ms | %.0f ms | %.0f ms |\n", c.LatencyMS.P95, s.LatencyMS.P95, base.LatencyMS.P95)
	fmt.Fprintf(b, "| mean prediction | %s | %s | %s |\n", mean(c.Predictions), mean(s.Predictions), mean(base.Predictions))
	fmt.Fprintf(b, "| MAE on actuals | %s | %s | %s |\n", mae(c.Accuracy), mae(s.Accuracy), mae(base.Accuracy))
	fmt.Fprintf(b, "| requests | %d | %d | %d |\n\n", c.Requests, s.Requests, base.Requests)
}

func mean(d modelgate.Distribution) string {
	if d.Count == 0 {
		return "-"
	}
	return fmt.Sprintf("%.4g", d.Mean())
}

func mae(a *modelgate.Accuracy) string {
	if a == nil || a.Count == 0 {
		return "-"
	}
	return fmt.Sprintf("%.4g (%d)", a.MAE(), a.Count)
}

// writeBake shows the watch after the rollout.
func writeBake(b *strings.Builder, steps []*modelgate.StepRecord) {
	ev, ok := modelgate.FindEvidence[modelgate.BakeEvidence](steps)
	if !ok || ev.Started.IsZero() {
		return
	}
	fmt.Fprintf(b, "## Bake\n\nWatched from %s until %s, %d looks.\n\n", stamp(ev.Started), stamp(ev.Until), ev.Looks)
	if ev.Total != nil {
		fmt.Fprintf(b, "Production since the rollout: %d requests, error rate %.2f%%, p95 %.0f ms.\n\n", ev.Total.Requests, 100*ev.Total.ErrorRate(), ev.Total.LatencyMS.P95)
	}
	for _, e := range ev.Extensions {
		fmt.Fprintf(b, "- Extended by %s by %s at %s: %s\n", e.Duration, e.By, stamp(e.At), e.Reason)
	}
	if ev.Ended != nil {
		fmt.Fprintf(b, "- Ended early by %s at %s: %s\n", ev.Ended.By, stamp(ev.Ended.At), ev.Ended.Reason)
	}
	for _, f := range ev.Fired {
		fmt.Fprintf(b, "- Alert **%s** fired at %s (%s): %s\n", f.Alert, stamp(f.At), f.Action, f.Summary)
	}
	if len(ev.Fired) == 0 {
		b.WriteString("- No alert fired.\n")
	}
	b.WriteString("\n| rule | last value | threshold | state | what it sees |\n|---|---|---|---|---|\n")
	for _, a := range ev.Alerts {
		state := "ok"
		switch {
		case a.Firing:
			state = "firing"
		case a.Pending:
			state = "pending"
		}
		fmt.Fprintf(b, "| %s | %.4g | %.4g | %s | %s |\n", a.Name, a.Value, a.Threshold, state, cell(a.Summary))
	}
	b.WriteString("\n")
}

// writeCharts links the charts written beside the report.
func writeCharts(b *strings.Builder, steps []*modelgate.StepRecord, prefix string) {
	charts := stepCharts(steps)
	if len(charts) == 0 {
		return
	}
	b.WriteString("## Figures over time\n\n")
	for _, c := range charts {
		fmt.Fprintf(b, "![%s](%s%s)\n\n", c.Title, prefix, c.Name)
	}
}
