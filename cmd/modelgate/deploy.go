package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/modelgate/modelgate"
)

func newDeployCmd(g *globals) *cobra.Command {
	var version string
	cmd := &cobra.Command{
		Use:   "deploy MODEL --version V",
		Short: "Serve a version at 100% of production at once, without a canary (first deployment or emergency)",
		Long: `Serve a version at 100% of production immediately, skipping the playbook.

This is for the first deployment of a model (a first deployment cannot be a canary:
there is nothing to compare it with) and for emergencies. The artifact's digest is
still verified and the action is recorded in the audit trail. The registry is not
changed: the version should already be in Production there.`,
		Example: `  modelgate deploy demand-forecast --version 1`,
		Args:    nArgs(1, "MODEL"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if version == "" {
				return &usageErr{fmt.Errorf("deploy needs --version V")}
			}
			return g.withApp(cmd, func(a *app) error {
				ctx := cmd.Context()
				svc := a.service(actor(), nil)
				release, err := deployLock(ctx, a, svc.Owner, args[0])
				if err != nil {
					return err
				}
				defer release()
				d, err := svc.Artifact(ctx, args[0], version)
				if err != nil {
					return err
				}
				if err := a.deployer.CheckTarget(ctx, args[0]); err != nil {
					return err
				}
				// Audit first: a production change must never go unrecorded.
				if _, err := a.audit.Append(ctx, modelgate.AuditEntry{Actor: actor(), Action: "deploy", Model: d.Model, Version: d.Version, Outcome: "requested", Detail: "model_sha256 " + d.Digest}); err != nil {
					return err
				}
				if err := a.deployer.Rollback(ctx, d); err != nil {
					return err
				}
				if _, err := a.audit.Append(ctx, modelgate.AuditEntry{Actor: actor(), Action: "deploy", Model: d.Model, Version: d.Version, Outcome: "serving", Detail: "model_sha256 " + d.Digest}); err != nil {
					return err
				}
				if g.json() {
					return g.printJSON(d)
				}
				fmt.Fprintf(g.stdout, "%s version %s serves 100%% of production (model_sha256 %s)\n", d.Model, d.Version, d.Digest)
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&version, "version", "", "registry version to serve")
	return cmd
}

// deployLock takes the model's promotion lock and refuses while a promotion
// runs: serving another version under it would make its state a lie.
func deployLock(ctx context.Context, a *app, owner, model string) (func(), error) {
	if err := a.store.AcquireLock(ctx, model, owner, time.Hour); err != nil {
		return nil, err
	}
	release := func() { _ = a.store.ReleaseLock(context.WithoutCancel(ctx), model, owner) }
	if p, err := a.store.ActivePromotion(ctx, model); err == nil {
		release()
		return nil, modelgate.Errorf(modelgate.ECONFLICT, "model %s has an unfinished promotion %s of version %s", model, p.ID, p.Version).
			WithHint("finish it with `modelgate promote %s --resume` or end it with `modelgate rollback %s` first", model, model)
	} else if modelgate.ErrorCode(err) != modelgate.ENOTFOUND {
		release()
		return nil, err
	}
	return release, nil
}
