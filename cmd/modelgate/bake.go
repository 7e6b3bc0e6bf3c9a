package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/promotion"
)

// bakeFlags are bake's flags: at most one of watch, end and extend.
type bakeFlags struct {
	watch  bool
	end    bool
	extend time.Duration
	reason string
}

func newBakeCmd(g *globals) *cobra.Command {
	var f bakeFlags
	cmd := &cobra.Command{
		Use:   "bake MODEL [--watch | --end --reason TEXT | --extend DURATION --reason TEXT]",
		Short: "Show, watch, end or extend the watch after a rollout (the bake)",
		Long: `After the rollout, the new production version is watched for bake.duration
(default 24h; every canary.interval in the first bake.first_hour, then every
bake.later) against the post-deployment alerts (alerts:, the same levels as
'modelgate alerts' writes for Prometheus) and against the previous version's
baseline. An alert that holds for alerts.for fires: by default errors and
latency roll production back to the previous version, with an incident ticket
and a post-mortem bundle; input drift only notifies (bake.actions). At the end,
production's figures become the version's baseline for the next promotion.

'modelgate promote' returns once the bake has begun, so a pipeline is not held
for a day. Someone must watch the bake: 'modelgate server' does it for every
model, or run 'modelgate bake MODEL --watch' (it resumes where a stopped
watcher left off, without repeating an action). Without a flag, this command
shows the bake: its end, the alerts at the last look and who watches it.

--end ends the bake now (the version stays; its baseline is taken from the
bake so far); --extend watches longer. Both need --reason and are recorded in
the audit trail with who and why.

Exit codes: 0 baking, or the bake ended with the version in production; 3 an
alert rolled production back; 1 error; 2 usage.`,
		Example: `  modelgate bake demand-forecast
  modelgate bake demand-forecast --watch
  modelgate bake demand-forecast --extend 12h --reason "holiday traffic starts tomorrow"
  modelgate bake demand-forecast --end --reason "reviewed the first 6 hours with ops"`,
		Args: nArgs(1, "MODEL"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := f.check(); err != nil {
				return err
			}
			cfg, err := g.config(cmd)
			if err != nil {
				return err
			}
			return g.bake(cmd.Context(), cfg, args[0], f)
		},
	}
	cmd.Flags().BoolVar(&f.watch, "watch", false, "watch the bake here until it ends")
	cmd.Flags().BoolVar(&f.end, "end", false, "end the bake now (needs --reason)")
	cmd.Flags().DurationVar(&f.extend, "extend", 0, "watch this much longer, e.g. 12h (needs --reason)")
	cmd.Flags().StringVar(&f.reason, "reason", "", "why the bake is ended or extended")
	return cmd
}

func (f bakeFlags) check() error {
	n := 0
	for _, on := range []bool{f.watch, f.end, f.extend != 0} {
		if on {
			n++
		}
	}
	switch {
	case n > 1:
		return &usageErr{fmt.Errorf("bake takes one of --watch, --end and --extend")}
	case (f.end || f.extend != 0) && strings.TrimSpace(f.reason) == "":
		return &usageErr{fmt.Errorf("--end and --extend need --reason TEXT: a person's decision is recorded with who and why")}
	case f.extend < 0:
		return &usageErr{fmt.Errorf("--extend takes a positive duration like 12h")}
	case f.reason != "" && !f.end && f.extend == 0:
		return &usageErr{fmt.Errorf("--reason goes with --end or --extend")}
	}
	return nil
}

func (g *globals) bake(ctx context.Context, cfg *Config, model string, f bakeFlags) error {
	if err := cfg.mustExist(); err != nil {
		return err
	}
	a, err := openApp(cfg, g.warnings())
	if err != nil {
		return err
	}
	defer a.Close()
	svc := a.service(g.progress())
	switch {
	case f.watch:
		p, err := svc.Resume(ctx, model)
		if err != nil {
			return err
		}
		if p.Step != modelgate.StepBake {
			_ = svc.Store.ReleaseLock(context.WithoutCancel(ctx), model, svc.Owner)
			return modelgate.Errorf(modelgate.ENOTFOUND, "model %s has no bake running: its promotion %s is at step %s", model, p.ID, p.Step).
				WithHint("`modelgate promote %s --resume` continues it", model)
		}
		return g.finish(ctx, svc, p, cfg)
	case f.end:
		p, mine, err := svc.EndBake(ctx, model, f.reason)
		if err != nil {
			return err
		}
		if mine {
			return g.finish(ctx, svc, p, cfg)
		}
		g.say("the process watching the bake ends it (within seconds)")
		if p, err = svc.Await(ctx, p.ID, nil); err != nil {
			return err
		}
		return g.outcome(ctx, svc, p, cfg)
	case f.extend > 0:
		until, err := svc.ExtendBake(ctx, model, f.extend, f.reason)
		if err != nil {
			return err
		}
		if g.json() {
			return g.printJSON(map[string]any{"model": model, "until": until})
		}
		fmt.Fprintf(g.stdout, "%s: the bake now ends at %s\n", model, until.Local().Format(time.DateTime))
		return nil
	}
	st, err := svc.Bake(ctx, model)
	if err != nil {
		return err
	}
	if g.json() {
		return g.printJSON(st)
	}
	printBake(g, st, time.Now())
	return nil
}

// printBake shows a running bake.
func printBake(g *globals, st *promotion.BakeStatus, now time.Time) {
	p, e := st.Promotion, st.Evidence
	fmt.Fprintf(g.stdout, "%s version %s: baking since %s, until %s (%s left); promotion %s\n", p.Model, p.Version,
		e.Started.Local().Format(time.DateTime), st.Until.Local().Format(time.DateTime), st.Until.Sub(now).Round(time.Minute), p.ID)
	if st.Watcher == "" {
		fmt.Fprintf(g.stdout, "  WARNING: nobody watches it: run `modelgate bake %s --watch` or `modelgate server`\n", p.Model)
	} else {
		fmt.Fprintf(g.stdout, "  watched by %s\n", st.Watcher)
	}
	if e.Baseline != nil {
		fmt.Fprintf(g.stdout, "  against version %s's baseline\n", p.Previous)
	}
	printAlerts(g, "  ", e.Alerts)
	if e.Error != "" {
		fmt.Fprintf(g.stdout, "  last look failed: %s\n", e.Error)
	}
}
