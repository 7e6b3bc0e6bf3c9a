package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/modelgate/modelgate"
)

func newApproveCmd(g *globals) *cobra.Command {
	var version, role, by, server string
	cmd := &cobra.Command{
		Use:   "approve MODEL --version V --role ROLE --by NAME",
		Short: "Record a person's approval of a version (a promotion precondition)",
		Long: `Record an approval. A promotion starts only when every role in
preconditions.required_approvals (default: data_science_lead, compliance_officer)
has approved the version. A second approval by the same role replaces the first.`,
		Example: `  modelgate approve demand-forecast --version 7 --role data_science_lead --by "Ada Lovelace"`,
		Args:    nArgs(1, "MODEL"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if c := g.remote(server); c != nil && version != "" && role != "" {
				return g.remoteApprove(cmd.Context(), c, &modelgate.Approval{Model: args[0], Version: version, Role: role, By: by})
			}
			if version == "" || role == "" || by == "" {
				return &usageErr{fmt.Errorf("approve needs --version, --role and --by")}
			}
			cfg, err := g.config(cmd)
			if err != nil {
				return err
			}
			a, err := openApp(cfg, nil)
			if err != nil {
				return err
			}
			defer a.Close()
			ap := &modelgate.Approval{Model: args[0], Version: version, Role: role, By: by, At: time.Now().UTC()}
			if err := approve(cmd.Context(), a, ap); err != nil {
				return err
			}
			if g.json() {
				return g.printJSON(ap)
			}
			fmt.Fprintf(g.stdout, "%s version %s approved by %s as %s\n", ap.Model, ap.Version, ap.By, ap.Role)
			return nil
		},
	}
	cmd.Flags().StringVar(&version, "version", "", "version being approved")
	cmd.Flags().StringVar(&role, "role", "", "the approver's role, e.g. data_science_lead or compliance_officer")
	cmd.Flags().StringVar(&by, "by", "", "the approver's name (with --server: the token's name, which it must match if given)")
	addServerFlag(cmd, &server)
	_ = cmd.RegisterFlagCompletionFunc("role", cobra.FixedCompletions([]string{"data_science_lead", "compliance_officer"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

// approve records the approval through the engine, which checks the
// version exists and the four-eyes rule, and audits it.
func approve(ctx context.Context, a *app, ap *modelgate.Approval) error {
	return a.service(nil).RecordApproval(ctx, ap)
}
