package main

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/modelgate/modelgate"
)

func newStatusCmd(g *globals) *cobra.Command {
	var server string
	cmd := &cobra.Command{
		Use:   "status [MODEL]",
		Short: "Show promotions, and for one model what production serves and the registry says",
		Example: `  modelgate status
  modelgate status demand-forecast -o json`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 1 {
				return &usageErr{fmt.Errorf("status expects at most one MODEL")}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			model := ""
			if len(args) == 1 {
				model = args[0]
			}
			if c := g.remote(server); c != nil {
				return g.status(cmd.Context(), c, model)
			}
			return g.withReadApp(cmd, func(a *app) error { return g.status(cmd.Context(), localStatus{a}, model) })
		},
	}
	addServerFlag(cmd, &server)
	return cmd
}

// statusSource is where status reads: this process's store and adapters,
// or a modelgate server (httpapi.Client).
type statusSource interface {
	Promotions(ctx context.Context, model string) ([]*modelgate.Promotion, error)
	ModelStatus(ctx context.Context, model string) (*modelgate.ModelStatus, error)
}

// localStatus reads the status in this process.
type localStatus struct{ a *app }

func (l localStatus) Promotions(ctx context.Context, model string) ([]*modelgate.Promotion, error) {
	return l.a.store.ListPromotions(ctx, model)
}

func (l localStatus) ModelStatus(ctx context.Context, model string) (*modelgate.ModelStatus, error) {
	return l.a.service(nil).ModelStatus(ctx, model)
}

func (g *globals) status(ctx context.Context, src statusSource, model string) error {
	proms, err := src.Promotions(ctx, model)
	if err != nil {
		return err
	}
	var ms *modelgate.ModelStatus
	if model != "" {
		if ms, err = src.ModelStatus(ctx, model); err != nil {
			return err
		}
	}
	if g.json() {
		return g.printJSON(map[string]any{"model": ms, "promotions": proms})
	}
	if ms != nil {
		printModelStatus(g, ms)
	}
	w := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "PROMOTION\tMODEL\tVERSION\tPREVIOUS\tSTEP\tOUTCOME\tSTARTED")
	for i, p := range proms {
		if i == 20 {
			break
		}
		outcome := string(p.Outcome)
		if outcome == "" {
			outcome = "running"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", p.ID, p.Model, p.Version, p.Previous, p.Step, outcome, p.StartedAt.Local().Format("2006-01-02 15:04"))
	}
	return w.Flush()
}

func printModelStatus(g *globals, ms *modelgate.ModelStatus) {
	fmt.Fprintf(g.stdout, "%s\n  registry: Production %s, Staging %s\n", ms.Model, ms.Production, ms.Staging)
	if ms.Traffic != nil {
		fmt.Fprintf(g.stdout, "  serving:  version %q at %d%%", ms.Traffic.Stable, 100-ms.Traffic.CanaryPercent)
		if ms.Traffic.Canary != "" {
			fmt.Fprintf(g.stdout, ", canary %q at %d%%", ms.Traffic.Canary, ms.Traffic.CanaryPercent)
		}
		fmt.Fprintln(g.stdout)
	} else {
		fmt.Fprintf(g.stdout, "  serving:  unknown (%s)\n", ms.Platform)
	}
	for _, w := range ms.Warnings {
		fmt.Fprintf(g.stdout, "  WARNING: %s\n", w)
	}
	if ms.Active != nil {
		fmt.Fprintf(g.stdout, "  active promotion %s of version %s at step %s\n", ms.Active.ID, ms.Active.Version, ms.Active.Step)
		for _, s := range ms.Steps {
			fmt.Fprintf(g.stdout, "    %-13s %s\n", s.Step, s.Outcome)
		}
		printPreconditions(g, ms)
		printWindow(g, ms.Window)
		printBakeAlerts(g, ms.Bake)
	}
	fmt.Fprintln(g.stdout)
}

// printWindow shows the canary's last look in plain words: each check, what
// the window can detect, and what it does not judge.
func printWindow(g *globals, w *modelgate.WindowEvidence) {
	if w == nil {
		return
	}
	fmt.Fprintf(g.stdout, "  canary window: %s of %s, %d looks, judge says %s\n", w.Elapsed, w.Window, w.Looks, w.Decision)
	for _, c := range w.Judgement.Checks {
		fmt.Fprintf(g.stdout, "    %-12s %s\n", c.Verdict, c.Summary)
	}
	if w.Plan != nil {
		for _, l := range append(append([]string(nil), w.Plan.Lines...), w.Plan.Warnings...) {
			fmt.Fprintf(g.stdout, "    plan: %s\n", l)
		}
	}
	for _, n := range w.Judgement.NotJudged {
		fmt.Fprintf(g.stdout, "    not judged: %s\n", n)
	}
}

// printPreconditions shows the active promotion's links and what its
// monitoring check found missing.
func printPreconditions(g *globals, ms *modelgate.ModelStatus) {
	for _, l := range ms.Links {
		fmt.Fprintf(g.stdout, "  %s: %s\n", l.Title, l.URL)
	}
	if m := ms.Monitoring; m != nil {
		for _, p := range m.Problems() {
			fmt.Fprintf(g.stdout, "  monitoring missing (preconditions.monitoring: %s): %s\n", m.Mode, p)
		}
	}
}

// printBakeAlerts shows a running bake's end and alerts at its last look.
func printBakeAlerts(g *globals, b *modelgate.BakeEvidence) {
	if b == nil {
		return
	}
	fmt.Fprintf(g.stdout, "  baking until %s (%d looks)\n", b.Until.Local().Format(time.DateTime), b.Looks)
	printAlerts(g, "    ", b.Alerts)
}

// printAlerts prints each alert's state and what it sees.
func printAlerts(g *globals, indent string, alerts []modelgate.Alert) {
	for _, al := range alerts {
		state := "ok"
		switch {
		case al.Firing:
			state = "FIRING"
		case al.Pending:
			state = "pending"
		}
		fmt.Fprintf(g.stdout, "%s%-30s %-8s %s\n", indent, al.Name, state, al.Summary)
	}
}
