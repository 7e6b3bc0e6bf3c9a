package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/modelgate/modelgate/audit"
)

func newAuditCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "audit", Short: "Work with the audit trail"}
	cmd.AddCommand(&cobra.Command{
		Use:   "verify PATH",
		Short: "Check that the hash-chained audit trail was not edited, cut, reordered or extended by hand",
		Long: `Verify recomputes every entry's hash and its link to the previous entry.
It exits 0 when the trail is intact and 1 naming the first bad entry otherwise.`,
		Example: `  modelgate audit verify .modelgate/audit.jsonl`,
		Args:    nArgs(1, "PATH"),
		RunE: func(cmd *cobra.Command, args []string) error {
			n, err := audit.Verify(args[0])
			if err != nil {
				return err
			}
			if g.json() {
				return g.printJSON(map[string]any{"path": args[0], "entries": n, "ok": true})
			}
			fmt.Fprintf(g.stdout, "%s: %d entries, chain intact\n", args[0], n)
			return nil
		},
	})
	return cmd
}
