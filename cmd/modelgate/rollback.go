package main

import (
	"log/slog"

	"github.com/spf13/cobra"

	"github.com/modelgate/modelgate"
)

func newRollbackCmd(g *globals) *cobra.Command {
	var reason string
	cmd := &cobra.Command{
		Use:   "rollback MODEL",
		Short: "Send all traffic back to the previous version and archive the failed one",
		Long: `Roll a model back by hand.

With an unfinished promotion: before its canary took traffic it is ended as failed
(production was never touched); after, all traffic goes back to the previous
version (its spec re-deployed) and the candidate becomes Archived.
Without one: the last version modelgate promoted is reverted to the version it
replaced. Evidence is kept in the audit trail and the report.`,
		Example: `  modelgate rollback demand-forecast --reason "forecasts too high in the north region"`,
		Args:    nArgs(1, "MODEL"),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := g.config(cmd)
			if err != nil {
				return err
			}
			a, err := openApp(cfg, slog.New(slog.NewTextHandler(g.stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
			if err != nil {
				return err
			}
			defer a.Close()
			svc := a.service(actor(), g.progress())
			p, err := svc.Rollback(cmd.Context(), args[0], "manual rollback by "+actor()+": "+reason)
			if err != nil {
				return err
			}
			err = g.finish(cmd.Context(), svc, p, cfg)
			if ee, ok := err.(*exitErr); ok && ee.code == exitRolledBack {
				return nil
			}
			if p.Step == modelgate.StepDone {
				return nil // a manual rollback that completed is a success
			}
			return err
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "no reason given", "why, for the records")
	return cmd
}
