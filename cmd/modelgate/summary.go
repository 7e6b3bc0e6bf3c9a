package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

func newSummaryCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "summary [MODEL]",
		Short: "Send the daily summaries that are due (the first week after each rollout)",
		Long: `For bake.summary_days (default 7) after a rollout, once a day, production's
figures of that day are sent through the notifiers against the baseline of the
version it replaced: the playbook's daily review for the first week.

'modelgate server' sends them by itself. Without a server, run this command
from cron (hourly is fine): each day's summary is sent once, whoever sends it
and however often this runs. It prints what it sent; nothing when nothing is
due.`,
		Example: `  modelgate summary
  modelgate summary demand-forecast -o json`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			model := ""
			if len(args) == 1 {
				model = args[0]
			}
			return g.withReadApp(cmd, func(a *app) error {
				sums, err := a.service(nil).DailySummaries(cmd.Context(), model)
				if g.json() {
					if perr := g.printJSON(sums); perr != nil {
						return perr
					}
					return err
				}
				if len(sums) == 0 && err == nil {
					fmt.Fprintln(g.stdout, "no daily summary is due")
				}
				for _, s := range sums {
					fmt.Fprintf(g.stdout, "%s version %s, day %d of %d (%s to %s): sent\n  %s\n", s.Model, s.Version, s.Day, s.Days,
						s.From.Local().Format(time.DateTime), s.To.Local().Format(time.DateTime), strings.Join(s.Lines, "\n  "))
				}
				return err
			})
		},
	}
}
