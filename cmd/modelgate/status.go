package main

import (
	"context"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/lease"
)

func newStatusCmd(g *globals) *cobra.Command {
	return &cobra.Command{
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
			return g.withReadApp(cmd, func(a *app) error { return g.status(cmd.Context(), a, model) })
		},
	}
}

type modelStatus struct {
	Model      string                  `json:"model"`
	Production string                  `json:"production"`
	Staging    string                  `json:"staging"`
	Traffic    *modelgate.TrafficSplit `json:"traffic,omitempty"`
	Platform   string                  `json:"platform"`
	Active     *modelgate.Promotion    `json:"active,omitempty"`
	Steps      []*modelgate.StepRecord `json:"steps,omitempty"`
	// Window is the active promotion's last look at its canary.
	Window *modelgate.WindowEvidence `json:"window,omitempty"`
	// Links and Monitoring are what the active promotion's preconditions
	// resolved and found.
	Links      []modelgate.Link              `json:"links,omitempty"`
	Monitoring *modelgate.MonitoringEvidence `json:"monitoring,omitempty"`
	// Runner names the process running the active promotion; "" when none
	// is (held, or crashed).
	Runner string `json:"runner,omitempty"`
	// Warnings flag what needs a person: registry and serving disagree, a
	// promotion nobody runs.
	Warnings []string `json:"warnings,omitempty"`
}

func (g *globals) status(ctx context.Context, a *app, model string) error {
	proms, err := a.store.ListPromotions(ctx, model)
	if err != nil {
		return err
	}
	var ms *modelStatus
	if model != "" {
		if ms, err = a.modelStatus(ctx, model); err != nil {
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

func (a *app) modelStatus(ctx context.Context, model string) (*modelStatus, error) {
	vs, err := a.registry.ListVersions(ctx, model)
	if err != nil {
		return nil, err
	}
	ms := &modelStatus{Model: model, Production: inStage(vs, modelgate.StageProduction), Staging: inStage(vs, modelgate.StageStaging), Platform: "reachable"}
	if split, err := a.deployer.Traffic(ctx, model); err == nil {
		ms.Traffic = &split
	} else {
		ms.Platform = modelgate.ErrorMessage(err)
	}
	if p, err := a.store.ActivePromotion(ctx, model); err == nil {
		ms.Active = p
		ms.Steps, _ = a.store.Steps(ctx, p.ID)
		if w, ok := modelgate.FindEvidence[modelgate.WindowEvidence](ms.Steps); ok && w.Judgement != nil {
			ms.Window = &w
		}
		ms.Links = modelgate.LinksOf(ms.Steps).List()
		if pre, ok := modelgate.FindEvidence[modelgate.PreconditionsEvidence](ms.Steps); ok {
			ms.Monitoring = pre.Monitoring
		}
		ms.Runner, _, _ = a.store.LockHolder(ctx, model)
		if ms.Runner != "" && lease.Gone(ms.Runner) {
			ms.Runner = ""
		}
	}
	ms.Warnings = statusWarnings(ms)
	return ms, nil
}

// statusWarnings flags a registry and a platform that disagree, and an
// unfinished promotion no process runs.
func statusWarnings(ms *modelStatus) []string {
	var w []string
	if t := ms.Traffic; t != nil && ms.Active == nil && t.Stable != ms.Production && ms.Production != "-" {
		w = append(w, fmt.Sprintf("the registry's Production version is %s but production serves version %q: make them agree (`modelgate deploy` or `modelgate registry transition`)", ms.Production, t.Stable))
	}
	if t := ms.Traffic; t != nil && ms.Active == nil && t.Canary != "" {
		w = append(w, fmt.Sprintf("production runs a canary of version %s with no promotion watching it", t.Canary))
	}
	if p := ms.Active; p != nil && ms.Runner == "" {
		state := "no process is running it: it crashed or was killed"
		if p.Outcome == modelgate.OutcomeHeld {
			state = "it is held for a person"
		}
		w = append(w, fmt.Sprintf("promotion %s is unfinished and %s; continue with `modelgate promote %s --resume` (or --resume --accept --reason TEXT if held), or end it with `modelgate abort %s --reason TEXT`", p.ID, state, p.Model, p.Model))
	}
	return w
}

func printModelStatus(g *globals, ms *modelStatus) {
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
func printPreconditions(g *globals, ms *modelStatus) {
	for _, l := range ms.Links {
		fmt.Fprintf(g.stdout, "  %s: %s\n", l.Title, l.URL)
	}
	if m := ms.Monitoring; m != nil {
		for _, p := range m.Problems() {
			fmt.Fprintf(g.stdout, "  monitoring missing (preconditions.monitoring: %s): %s\n", m.Mode, p)
		}
	}
}
