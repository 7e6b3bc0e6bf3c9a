package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/httpapi"
)

// Environment of a command that targets a modelgate server.
const (
	serverEnv = "MODELGATE_SERVER" // the server's URL, when --server is not given
	tokenEnv  = "MODELGATE_TOKEN"  // the bearer token sent to it
)

// addServerFlag gives a command --server URL.
func addServerFlag(cmd *cobra.Command, url *string) {
	cmd.Flags().StringVar(url, "server", "", "a modelgate server's URL to act through (default $"+serverEnv+"); the token comes from $"+tokenEnv)
}

// remote returns the client of the server the command targets: --server,
// else $MODELGATE_SERVER; nil when neither is set (act in this process).
func (g *globals) remote(flag string) *httpapi.Client {
	url := flag
	if url == "" {
		url = os.Getenv(serverEnv)
	}
	if url == "" {
		return nil
	}
	if !strings.Contains(url, "://") {
		url = "http://" + url
	}
	c := httpapi.NewClient(url, os.Getenv(tokenEnv))
	c.OnReconnect = func(err error) {
		fmt.Fprintf(g.stderr, "modelgate: %s; reconnecting to %s\n", modelgate.ErrorMessage(err), c.URL)
	}
	return c
}

// remotePromote starts, resumes or accepts a promotion in the server and
// follows it to its end, printing the same progress and outcome as a
// promotion run here.
func (g *globals) remotePromote(ctx context.Context, c *httpapi.Client, model, version string, resume bool, accept string) error {
	var p *modelgate.Promotion
	var err error
	switch {
	case accept != "":
		p, err = c.AcceptPromotion(ctx, model, accept)
	case resume:
		p, err = c.ResumePromotion(ctx, model)
	default:
		p, err = c.StartPromotion(ctx, model, version)
	}
	if err != nil {
		return err
	}
	if resume && version != "" && p.Version != version {
		return &usageErr{fmt.Errorf("--resume --version %s: the unfinished promotion %s is of version %s (it runs on in the server)", version, p.ID, p.Version)}
	}
	fmt.Fprintf(g.stderr, "[%s %s] promotion %s runs in the server at %s; following it (Ctrl-C stops following, not the promotion)\n", p.Model, p.Version, p.ID, c.URL)
	return g.follow(ctx, c, p)
}

// follow prints a server's promotion's progress until it ends, then its
// outcome with promote's exit codes.
func (g *globals) follow(ctx context.Context, c *httpapi.Client, p *modelgate.Promotion) error {
	fctx, baked := context.WithCancel(ctx)
	defer baked()
	progress := g.progress()
	end, err := c.FollowPromotion(fctx, p.ID, 0, func(e modelgate.Event) {
		progress(e)
		if e.Step == modelgate.StepBake && e.Remaining > 0 { // a look of a running bake
			baked() // the server watches the bake; a pipeline need not wait a day
		}
	})
	if err != nil && fctx.Err() != nil && ctx.Err() == nil {
		return g.remoteBaking(ctx, c, p.ID)
	}
	if err != nil {
		if ctx.Err() != nil {
			return modelgate.Errorf(modelgate.EUNAVAILABLE, "stopped following promotion %s; it runs on in the server (`modelgate status %s --server %s`)", p.ID, p.Model, c.URL)
		}
		return err
	}
	return g.remoteOutcome(ctx, c, end)
}

// remoteOutcome prints how a server's promotion ended, as outcome does.
func (g *globals) remoteOutcome(ctx context.Context, c *httpapi.Client, p *modelgate.Promotion) error {
	report := fmt.Sprintf("%s.md in the server's records.reports (%s)", p.ID, c.URL)
	return g.ended(p, report, func() string {
		_, steps, err := c.Promotion(ctx, p.ID)
		if err != nil {
			return string(p.Step)
		}
		return failedStepOf(steps, p)
	})
}

// remoteBaking prints a server's promotion whose bake has begun.
func (g *globals) remoteBaking(ctx context.Context, c *httpapi.Client, id string) error {
	p, _, err := c.Promotion(ctx, id)
	if err != nil {
		return err
	}
	if p.Outcome != modelgate.OutcomeNone {
		return g.remoteOutcome(ctx, c, p)
	}
	if g.json() {
		return g.printJSON(map[string]any{"promotion": p, "state": "baking"})
	}
	fmt.Fprintf(g.stdout, "%s version %s: PROMOTED, baking in the server (promotion %s)\n", p.Model, p.Version, p.ID)
	fmt.Fprintf(g.stdout, "  - Production serves version %s; the server watches it against the alerts and rolls it back if one fires.\n", p.Version)
	fmt.Fprintf(g.stdout, "  - `modelgate status %s --server %s` shows it.\n", p.Model, c.URL)
	return nil
}

// remoteAbort asks the server to end model's unfinished promotion and
// waits up to wait for its end.
func (g *globals) remoteAbort(ctx context.Context, c *httpapi.Client, model, reason string, wait time.Duration) error {
	p, err := c.AbortPromotion(ctx, model, reason)
	if err != nil {
		return err
	}
	fmt.Fprintf(g.stderr, "[%s %s] the server was asked to stop promotion %s and roll back (waiting up to %s)\n", p.Model, p.Version, p.ID, wait)
	wctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	end, err := c.FollowPromotion(wctx, p.ID, 0, g.progress())
	if err != nil && wctx.Err() != nil && ctx.Err() == nil {
		return modelgate.Errorf(modelgate.EUNAVAILABLE, "promotion %s has not ended within %s; the server has been told (see `modelgate status %s --server %s`)", p.ID, wait, p.Model, c.URL)
	} else if err != nil {
		return err
	}
	return ignoreRolledBack(g.remoteOutcome(ctx, c, end))
}

// remoteApprove records the token holder's approval in the server.
func (g *globals) remoteApprove(ctx context.Context, c *httpapi.Client, ap *modelgate.Approval) error {
	if err := c.Approve(ctx, ap); err != nil {
		return err
	}
	if g.json() {
		return g.printJSON(ap)
	}
	fmt.Fprintf(g.stdout, "%s version %s approved by %s as %s\n", ap.Model, ap.Version, ap.By, ap.Role)
	return nil
}
