package main

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/promotion"
)

func newPromoteCmd(g *globals) *cobra.Command {
	var version, reason, server string
	var resume, accept, watchBake bool
	var window time.Duration
	var percent int
	cmd := &cobra.Command{
		Use:   "promote MODEL --version V",
		Short: "Run the whole playbook for one version: verify, staging, smoke, canary, decide, roll out or back",
		Long: `Promote a Staging version to production.

The preconditions are checked first and nothing changes if one fails. Then the
playbook runs step by step; every step is persisted, so if modelgate is stopped
or crashes, run the same command again (or add --resume) to continue where it
stopped. Only one promotion per model runs at a time.

A promotion held for a person (the window ended with a figure outside its threshold
but without significant harm) is decided by a person: --resume keeps watching for
one more extension; --resume --accept --reason TEXT promotes it on that person's
word (the judge's figures at that moment, who and why go into the audit trail); and
'modelgate abort MODEL --reason TEXT' rolls it back.

After the rollout the new version is baked (watched against the alerts for
bake.duration, default 24h; see 'modelgate bake --help'): promote returns once
the bake has begun, saying until when and who must watch it, unless
--watch-bake watches it here to its end.

Exit codes: 0 promoted (and baking); 3 rolled back (the canary was judged worse and production
is back on the previous version); 1 error or failed gate (state is consistent; the
message says what to do next); 2 usage or configuration error.`,
		Example: `  modelgate promote demand-forecast --version 7
  modelgate promote demand-forecast --resume
  modelgate promote demand-forecast --resume --accept --reason "p99 within SLO; reviewed by ops"
  modelgate promote demand-forecast --version 7 --window 10m --percent 5 -o json`,
		Args: nArgs(1, "MODEL"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if version == "" && !resume {
				return &usageErr{fmt.Errorf("promote needs --version V (or --resume to continue an unfinished promotion)")}
			}
			if accept && (!resume || reason == "") {
				return &usageErr{fmt.Errorf("--accept goes with --resume and --reason TEXT: a person's decision is recorded with who and why")}
			}
			if c := g.remote(server); c != nil {
				if cmd.Flags().Changed("window") || cmd.Flags().Changed("percent") {
					return &usageErr{fmt.Errorf("--window and --percent are the server's configuration; they are not offered with --server")}
				}
				return g.remotePromote(cmd.Context(), c, args[0], version, resume, acceptReason(accept, reason))
			}
			cfg, err := g.config(cmd)
			if err != nil {
				return err
			}
			if cmd.Flags().Changed("window") {
				cfg.Canary.Window = Duration(window)
			}
			if cmd.Flags().Changed("percent") {
				cfg.Canary.Percent = percent
			}
			if err := cfg.validate(); err != nil {
				return configErrorf("%v", err)
			}
			return g.promote(cmd.Context(), cfg, args[0], version, resume, acceptReason(accept, reason), watchBake)
		},
	}
	cmd.Flags().StringVar(&version, "version", "", "registry version to promote (must be in Staging)")
	cmd.Flags().BoolVar(&resume, "resume", false, "continue the model's unfinished promotion")
	cmd.Flags().BoolVar(&accept, "accept", false, "with --resume: promote a held promotion on your word")
	cmd.Flags().StringVar(&reason, "reason", "", "with --accept: why (required)")
	cmd.Flags().DurationVar(&window, "window", 0, "canary window (overrides canary.window)")
	cmd.Flags().IntVar(&percent, "percent", 0, "canary traffic percent (overrides canary.percent)")
	cmd.Flags().BoolVar(&watchBake, "watch-bake", false, "after the rollout, watch the bake here until it ends (default: return once it has begun)")
	addServerFlag(cmd, &server)
	return cmd
}

// acceptReason is the reason of an acceptance, or "" when none was asked.
func acceptReason(accept bool, reason string) string {
	if !accept {
		return ""
	}
	return reason
}

func (g *globals) promote(ctx context.Context, cfg *Config, model, version string, resume bool, accept string, watchBake bool) error {
	a, err := openApp(cfg, g.warnings())
	if err != nil {
		return err
	}
	defer a.Close()
	if err := a.servePayload(ctx); err != nil {
		return err
	}
	svc := a.service(g.progress())
	svc.DetachBake = !watchBake
	var p *modelgate.Promotion
	switch {
	case accept != "":
		p, err = svc.Accept(ctx, model, accept)
	case resume:
		p, err = svc.Resume(ctx, model)
		if err == nil && version != "" && p.Version != version {
			_ = svc.Store.ReleaseLock(context.WithoutCancel(ctx), model, svc.Owner)
			return &usageErr{fmt.Errorf("--resume --version %s: the unfinished promotion %s is of version %s", version, p.ID, p.Version)}
		}
	default:
		p, err = svc.Start(ctx, model, version)
	}
	if err != nil {
		return err
	}
	return g.finish(ctx, svc, p, cfg)
}

// finish runs a started promotion and turns its outcome into output and an
// exit code.
func (g *globals) finish(ctx context.Context, svc *promotion.Service, p *modelgate.Promotion, cfg *Config) error {
	p, err := svc.Run(ctx, p)
	if err != nil {
		return stopped(ctx, svc, p, err)
	}
	return g.outcome(ctx, svc, p, cfg)
}

// stopped explains a promotion that stopped on an error, and offers to
// resume only when there is an unfinished promotion to resume.
func stopped(ctx context.Context, svc *promotion.Service, p *modelgate.Promotion, err error) error {
	e := &modelgate.Error{Code: modelgate.ErrorCode(err), Err: err,
		Message: fmt.Sprintf("promotion %s stopped at step %s: %s", p.ID, p.Step, modelgate.ErrorMessage(err))}
	if q, qerr := svc.Store.GetPromotion(context.WithoutCancel(ctx), p.ID); qerr == nil && q.Active() {
		e.Hint = fmt.Sprintf("its state is saved; continue with `modelgate promote %s --resume` or end it with `modelgate abort %s --reason TEXT`", p.Model, p.Model)
	}
	return e
}

// outcome prints how a promotion ended and turns it into an exit code.
func (g *globals) outcome(ctx context.Context, svc *promotion.Service, p *modelgate.Promotion, cfg *Config) error {
	reportPath := filepath.Join(cfg.path(cfg.Records.Reports), p.ID+".md")
	if p.Outcome == modelgate.OutcomeNone && p.Step == modelgate.StepBake {
		return g.baking(ctx, svc, p, reportPath)
	}
	return g.ended(p, reportPath, func() string { return failedStep(ctx, svc, p) })
}

// baking prints a promotion whose version is in production and whose bake
// goes on without this process: exit 0, and who must watch it.
func (g *globals) baking(ctx context.Context, svc *promotion.Service, p *modelgate.Promotion, reportPath string) error {
	st, err := svc.Bake(ctx, p.Model)
	if err != nil {
		return err
	}
	if g.json() {
		return g.printJSON(map[string]any{"promotion": p, "report": reportPath, "state": "baking", "bake_until": st.Until})
	}
	fmt.Fprintf(g.stdout, "%s version %s: PROMOTED, baking until %s (promotion %s)\n", p.Model, p.Version, st.Until.Local().Format(time.DateTime), p.ID)
	fmt.Fprintf(g.stdout, "  - Production serves version %s. Until the bake ends it is watched against the alerts and version %s's baseline, and rolled back if an alert fires.\n", p.Version, p.Previous)
	fmt.Fprintf(g.stdout, "  - Keep it watched: `modelgate bake %s --watch` (or run `modelgate server`); `modelgate bake %s` shows it.\n", p.Model, p.Model)
	fmt.Fprintf(g.stdout, "report: %s\n", reportPath)
	return nil
}

// ended prints an ended promotion and its report's path and turns its
// outcome into an exit code; failed names the step that failed.
func (g *globals) ended(p *modelgate.Promotion, reportPath string, failed func() string) error {
	if g.json() {
		_ = g.printJSON(map[string]any{"promotion": p, "report": reportPath})
	} else {
		printOutcome(g, p, reportPath)
	}
	switch p.Outcome {
	case modelgate.OutcomePromoted, modelgate.OutcomeReverted:
		return nil
	case modelgate.OutcomeRolledBack:
		return &exitErr{code: exitRolledBack, msg: "rolled back"}
	case modelgate.OutcomeHeld:
		return &exitErr{code: exitError, printed: true, msg: fmt.Sprintf("promotion %s is held for a person: %s", p.ID, strings.Join(p.Reasons, "; "))}
	}
	return &exitErr{code: exitError, printed: true, msg: fmt.Sprintf("promotion %s failed at step %s: %s", p.ID, failed(), strings.Join(p.Reasons, "; "))}
}

// failedStep names the step whose record says it failed.
func failedStep(ctx context.Context, svc *promotion.Service, p *modelgate.Promotion) string {
	steps, err := svc.Store.Steps(ctx, p.ID)
	if err != nil {
		return string(p.Step)
	}
	return failedStepOf(steps, p)
}

// failedStepOf names the last step whose record says it failed.
func failedStepOf(steps []*modelgate.StepRecord, p *modelgate.Promotion) string {
	for i := len(steps) - 1; i >= 0; i-- {
		if steps[i].Outcome == modelgate.ResultFailed {
			return string(steps[i].Step)
		}
	}
	return string(p.Step)
}

func printOutcome(g *globals, p *modelgate.Promotion, reportPath string) {
	fmt.Fprintf(g.stdout, "%s version %s: %s (promotion %s)\n", p.Model, p.Version, strings.ToUpper(strings.ReplaceAll(string(p.Outcome), "_", " ")), p.ID)
	for _, r := range p.Reasons {
		fmt.Fprintf(g.stdout, "  - %s\n", r)
	}
	fmt.Fprintf(g.stdout, "report: %s\n", reportPath)
}

// progress prints live progress on stderr: a line per step message, and
// a line per look at the canary window with the live figures.
func (g *globals) progress() func(promotion.Event) {
	return func(e promotion.Event) {
		if g.json() {
			e.Window = nil // keep the event lines short; the report has the figures
			b, _ := jsonMarshal(e)
			fmt.Fprintln(g.stderr, string(b))
			return
		}
		if e.Judgement == nil || e.Window == nil {
			fmt.Fprintf(g.stderr, "[%s %s] %-9s %s\n", e.Model, e.Version, e.Step, e.Message)
			return
		}
		fmt.Fprintf(g.stderr, "[%s %s] %-9s %s\n", e.Model, e.Version, e.Step, windowLine(e))
	}
}

func windowLine(e promotion.Event) string {
	c, s := e.Window.Canary, e.Window.Stable
	return fmt.Sprintf("%s elapsed, %s left | canary %d req %.2f%% err p95 %.1fms | production %d req %.2f%% err p95 %.1fms | %s -> %s",
		e.Elapsed.Round(time.Second), e.Remaining.Round(time.Second), c.Requests, 100*c.ErrorRate(), c.LatencyMS.P95,
		s.Requests, 100*s.ErrorRate(), s.LatencyMS.P95, predictionWords(c.Predictions, s.Predictions), e.Judgement.Decision)
}

// predictionWords compares the mean predictions, once both arms have some.
func predictionWords(c, s modelgate.Distribution) string {
	if c.Count == 0 || s.Count == 0 {
		return "no predictions from both yet"
	}
	pm, sm := c.Mean(), s.Mean()
	if sm == 0 {
		return fmt.Sprintf("prediction mean %.2f vs %.2f", pm, sm)
	}
	return fmt.Sprintf("prediction mean %.2f vs %.2f (%+.1f%%)", pm, sm, 100*(pm-sm)/math.Abs(sm))
}
