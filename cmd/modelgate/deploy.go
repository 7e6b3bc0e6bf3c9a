package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/modelgate/modelgate/promotion"
)

func newDeployCmd(g *globals) *cobra.Command {
	var version string
	var opts promotion.DeployOptions
	cmd := &cobra.Command{
		Use:   "deploy MODEL --version V",
		Short: "Serve a version at 100% of production at once, without a canary (first deployment or emergency)",
		Long: `Serve a version at 100% of production immediately, skipping the playbook.

This is for the first deployment of a model (a first deployment cannot be a canary:
there is nothing to compare it with) and for emergencies. The artifact's digest is
still verified and the deployment is recorded in the audit trail before and after
it acts. It is refused while the model has an unfinished promotion. A version the
registry marks as retired (Archived, or rolled back by modelgate) is served only
with --force and a --reason. The registry is not changed: the version should
already be in Production there.`,
		Example: `  modelgate deploy demand-forecast --version 1
  modelgate deploy demand-forecast --version 3 --force --reason "v4 breaks the EU stores; v3 was fine there"`,
		Args: nArgs(1, "MODEL"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if version == "" {
				return &usageErr{fmt.Errorf("deploy needs --version V")}
			}
			if opts.Force && opts.Reason == "" {
				return &usageErr{fmt.Errorf("--force needs --reason TEXT, for the records")}
			}
			return g.withApp(cmd, func(a *app) error {
				d, err := a.service(nil).Deploy(cmd.Context(), args[0], version, opts)
				if err != nil {
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
	cmd.Flags().BoolVar(&opts.Force, "force", false, "serve a retired (Archived or rolled-back) version")
	cmd.Flags().StringVar(&opts.Reason, "reason", "", "why, for the audit trail (required with --force)")
	return cmd
}
