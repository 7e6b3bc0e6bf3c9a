package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"
)

func newReplayCmd(g *globals) *cobra.Command {
	var rate float64
	var duration time.Duration
	cmd := &cobra.Command{
		Use:   "replay MODEL FILE.csv",
		Short: "Send recorded requests (CSV rows) to the local gateway's production at a steady rate",
		Long: `Replay recorded production requests against the local gateway, so a canary
has live traffic to be judged on: each CSV row (a header of request fields, one
request per row) becomes one V1 prediction request to platform.listen, cycling
through the file at --rate requests per second until interrupted (or --for).
Requests the gateway does not answer in time are counted as failed; when every
sender is busy a request is skipped rather than queued, to keep the rate honest.
Sent and failed counts go to stderr every 10 seconds.`,
		Example: `  modelgate replay demand-forecast examples/demand-forecast/data/live_requests.csv --rate 20 &`,
		Args:    nArgs(2, "MODEL FILE.csv"),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := g.config(cmd)
			if err != nil {
				return err
			}
			if cfg.Platform.Type != "local" {
				return configErrorf("replay sends to the local gateway (platform.type: local), not to %s", cfg.Platform.Type)
			}
			t, err := startTraffic(cmd.Context(), cfg.Platform.Listen, args[0], args[1], rate)
			if err != nil {
				return &usageErr{fmt.Errorf("%s: %v", args[1], err)}
			}
			g.replayUntilDone(cmd, t, duration)
			sent, failed := t.stop()
			fmt.Fprintf(g.stdout, "replayed %d requests to %s, %d failed\n", sent, cfg.Platform.Listen, failed)
			return nil
		},
	}
	cmd.Flags().Float64Var(&rate, "rate", 20, "requests per second")
	cmd.Flags().DurationVar(&duration, "for", 0, "stop after this long (0: until interrupted)")
	return cmd
}

// replayUntilDone reports progress every 10 seconds until the command is
// interrupted or d has passed.
func (g *globals) replayUntilDone(cmd *cobra.Command, t *trafficDriver, d time.Duration) {
	var end <-chan time.Time
	if d > 0 {
		end = time.After(d)
	}
	tick := time.NewTicker(10 * time.Second)
	defer tick.Stop()
	for {
		select {
		case <-cmd.Context().Done():
			return
		case <-end:
			return
		case <-tick.C:
			fmt.Fprintf(g.stderr, "replay: %d sent, %d failed\n", t.sent.Load(), t.failed.Load())
		}
	}
}
