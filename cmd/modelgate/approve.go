package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/modelgate/modelgate"
)

// approveFlags are approve's flags.
type approveFlags struct {
	version, role, by, reason string
	revoke                    bool
	server                    string
}

func newApproveCmd(g *globals) *cobra.Command {
	var f approveFlags
	cmd := &cobra.Command{
		Use:   "approve MODEL --version V --role ROLE --by NAME",
		Short: "Record (or revoke) a person's approval of a version (a promotion precondition)",
		Long: `Record an approval. A promotion starts only when every role in
preconditions.required_approvals (default: data_science_lead, compliance_officer)
has an approval of the version that counts. The rules, each refused with a
message and changing nothing but the audit trail:

  - the role must be one of preconditions.required_approvals;
  - the approver's name may not be a placeholder (TODO, n/a, <name>, ...);
  - one person cannot fill two roles of one version;
  - the version's author (its preconditions.author_tag tag, default author)
    may not approve it unless preconditions.author_may_approve is true.

An approval older than preconditions.approval_max_age (default 7 days) or
revoked no longer counts; the promotion's preconditions check every rule
again. A second approval by the same role replaces the first.

--revoke withdraws a role's approval, with a reason, in the name of the
person running modelgate ($MODELGATE_ACTOR, else $USER). Approvals and
revocations are in the audit trail with who ran the command.`,
		Example: `  modelgate approve demand-forecast --version 7 --role data_science_lead --by "Ada Lovelace"
  modelgate approve demand-forecast --revoke --version 7 --role compliance_officer --reason "dataset licence unclear"`,
		Args: nArgs(1, "MODEL"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if c := g.remote(f.server); c != nil && !f.revoke && f.version != "" && f.role != "" {
				return g.remoteApprove(cmd.Context(), c, &modelgate.Approval{Model: args[0], Version: f.version, Role: f.role, By: f.by})
			}
			if err := f.check(); err != nil {
				return err
			}
			return g.approve(cmd, args[0], f)
		},
	}
	cmd.Flags().StringVar(&f.version, "version", "", "version being approved")
	cmd.Flags().StringVar(&f.role, "role", "", "the approver's role, one of preconditions.required_approvals")
	cmd.Flags().StringVar(&f.by, "by", "", "the approver's name (with --server: the token's name, which it must match if given)")
	cmd.Flags().BoolVar(&f.revoke, "revoke", false, "withdraw the role's approval instead (needs --reason)")
	cmd.Flags().StringVar(&f.reason, "reason", "", "why the approval is revoked (with --revoke)")
	addServerFlag(cmd, &f.server)
	_ = cmd.RegisterFlagCompletionFunc("role", cobra.FixedCompletions([]string{"data_science_lead", "compliance_officer"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

func (f approveFlags) check() error {
	switch {
	case f.revoke && (f.version == "" || f.role == "" || strings.TrimSpace(f.reason) == ""):
		return &usageErr{fmt.Errorf("approve --revoke needs --version, --role and --reason")}
	case f.revoke && f.by != "":
		return &usageErr{fmt.Errorf("approve --revoke takes no --by: the revocation is in the name of the person running modelgate ($MODELGATE_ACTOR, else $USER)")}
	case !f.revoke && f.reason != "":
		return &usageErr{fmt.Errorf("--reason goes with --revoke")}
	case !f.revoke && (f.version == "" || f.role == "" || f.by == ""):
		return &usageErr{fmt.Errorf("approve needs --version, --role and --by")}
	}
	return nil
}

func (g *globals) approve(cmd *cobra.Command, model string, f approveFlags) error {
	cfg, err := g.config(cmd)
	if err != nil {
		return err
	}
	a, err := openApp(cfg, nil)
	if err != nil {
		return err
	}
	defer a.Close()
	svc := a.service(nil)
	var ap *modelgate.Approval
	if f.revoke {
		ap, err = svc.RevokeApproval(cmd.Context(), model, f.version, f.role, f.reason)
	} else {
		ap, err = svc.Approve(cmd.Context(), model, f.version, f.role, f.by)
	}
	if err != nil {
		return err
	}
	if g.json() {
		return g.printJSON(ap)
	}
	if f.revoke {
		fmt.Fprintf(g.stdout, "%s version %s: the %s's approval by %s is revoked\n", ap.Model, ap.Version, ap.Role, ap.By)
		return nil
	}
	fmt.Fprintf(g.stdout, "%s version %s approved by %s as %s\n", ap.Model, ap.Version, ap.By, ap.Role)
	return nil
}

// approve records an approval as the person running modelgate (the demo's
// seeding).
func approve(ctx context.Context, a *app, model, version, role, by string) error {
	_, err := a.service(nil).Approve(ctx, model, version, role, by)
	return err
}
