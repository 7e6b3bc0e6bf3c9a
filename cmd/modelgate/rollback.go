package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/promotion"
)

func newRollbackCmd(g *globals) *cobra.Command {
	var version, reason, server string
	var wait time.Duration
	cmd := &cobra.Command{
		Use:   "rollback MODEL --reason TEXT [--version V]",
		Short: "Send all traffic back to the previous version: abort the running promotion, or revert the last one",
		Long: `Roll a model back by hand.

With an unfinished promotion (running in another process, held, or left by a crash)
this is 'modelgate abort': before its canary took traffic it ends as failed
(production was never touched); after, all traffic goes back to the previous version
(its spec re-deployed) and the candidate is archived. A process still running the
promotion is told through the state store and acts within a second; a crashed one's
lock is taken over at once.

Without one, it reverts a finished promotion: name the version production serves
(--version), and it goes back to the version it replaced, recorded as "reverted
after promotion" with both versions' tags.

--reason is required: it goes into the audit trail, the report and the CHANGELOG.`,
		Example: `  modelgate rollback demand-forecast --reason "forecasts too high in the north region"
  modelgate rollback demand-forecast --version 7 --reason "v7 breaks the EU stores"`,
		Args: nArgs(1, "MODEL"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if reason == "" {
				return &usageErr{fmt.Errorf("rollback needs --reason TEXT, for the records")}
			}
			if c := g.remote(server); c != nil {
				if version != "" {
					return &usageErr{fmt.Errorf("rollback --version (reverting a finished promotion) is not offered through --server; run it where the state is")}
				}
				return g.remoteAbort(cmd.Context(), c, args[0], reason, wait)
			}
			return g.control(cmd, wait, func(ctx context.Context, svc *promotion.Service) (*modelgate.Promotion, bool, error) {
				return svc.Rollback(ctx, args[0], version, reason)
			})
		},
	}
	cmd.Flags().StringVar(&version, "version", "", "the promoted version to revert (when no promotion is unfinished)")
	cmd.Flags().StringVar(&reason, "reason", "", "why (required)")
	cmd.Flags().DurationVar(&wait, "wait", 5*time.Minute, "how long to wait for another process running the promotion to roll it back")
	addServerFlag(cmd, &server)
	return cmd
}

func newAbortCmd(g *globals) *cobra.Command {
	var reason, server string
	var wait time.Duration
	cmd := &cobra.Command{
		Use:   "abort MODEL --reason TEXT",
		Short: "End the model's unfinished promotion now: running, held or crashed",
		Long: `Abort the model's unfinished promotion.

A promotion running in another process is told through the state store and rolls
back within a second (its progress shows the abort); this command waits for it
and prints the outcome. A held promotion, or one whose process crashed (its lock is
taken over at once on this host, or when its lease of a few seconds expires
elsewhere), is rolled back by this command itself. Before the canary took traffic
the promotion simply ends as failed. Who and why are recorded in the audit trail.`,
		Example: `  modelgate abort demand-forecast --reason "latency alerts from the EU region"`,
		Args:    nArgs(1, "MODEL"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if reason == "" {
				return &usageErr{fmt.Errorf("abort needs --reason TEXT, for the records")}
			}
			if c := g.remote(server); c != nil {
				return g.remoteAbort(cmd.Context(), c, args[0], reason, wait)
			}
			return g.control(cmd, wait, func(ctx context.Context, svc *promotion.Service) (*modelgate.Promotion, bool, error) {
				return svc.Abort(ctx, args[0], reason)
			})
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why (required)")
	cmd.Flags().DurationVar(&wait, "wait", 5*time.Minute, "how long to wait for another process running the promotion to roll it back")
	addServerFlag(cmd, &server)
	return cmd
}

// control runs a person's act on a promotion: carried out here when this
// process got the promotion, else awaited from the process running it.
func (g *globals) control(cmd *cobra.Command, wait time.Duration, act func(context.Context, *promotion.Service) (*modelgate.Promotion, bool, error)) error {
	cfg, err := g.config(cmd)
	if err != nil {
		return err
	}
	a, err := openApp(cfg, g.warnings())
	if err != nil {
		return err
	}
	defer a.Close()
	ctx := cmd.Context()
	svc := a.service(g.progress())
	p, mine, err := act(ctx, svc)
	if err != nil {
		return err
	}
	if !mine {
		if p, err = g.await(ctx, svc, p, wait); err != nil {
			return err
		}
		return ignoreRolledBack(g.outcome(ctx, svc, p, cfg))
	}
	return ignoreRolledBack(g.finish(ctx, svc, p, cfg))
}

// await waits for the process running p to end it, saying so.
func (g *globals) await(ctx context.Context, svc *promotion.Service, p *modelgate.Promotion, wait time.Duration) (*modelgate.Promotion, error) {
	fmt.Fprintf(g.stderr, "[%s %s] another process runs promotion %s; it has been asked to stop and roll back (waiting up to %s)\n", p.Model, p.Version, p.ID, wait)
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	last := p.Step
	q, err := svc.Await(ctx, p.ID, func(q *modelgate.Promotion) {
		if q.Step != last {
			last = q.Step
			fmt.Fprintf(g.stderr, "[%s %s] %-9s\n", q.Model, q.Version, q.Step)
		}
	})
	if err != nil && ctx.Err() != nil {
		return nil, modelgate.Errorf(modelgate.EUNAVAILABLE, "promotion %s has not ended within %s; the process running it has been told (see `modelgate status %s`)", p.ID, wait, p.Model)
	}
	return q, err
}

// ignoreRolledBack makes a completed manual rollback a success.
func ignoreRolledBack(err error) error {
	if ee, ok := err.(*exitErr); ok && (ee.code == exitRolledBack || ee.printed && ee.code == exitError) {
		return nil
	}
	return err
}
