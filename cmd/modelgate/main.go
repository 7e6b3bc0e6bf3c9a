package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/modelgate/modelgate"
)

// Exit codes (documented in the README).
const (
	exitOK         = 0
	exitError      = 1
	exitUsage      = 2
	exitRolledBack = 3
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// globals are the flags every command has.
type globals struct {
	configPath string
	output     string
	stdout     io.Writer
	stderr     io.Writer
}

func (g *globals) json() bool { return g.output == "json" }

func run(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	g := &globals{stdout: stdout, stderr: stderr}
	root := newRoot(g)
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	return reportError(g, err)
}

// exitErr carries an exit code for an outcome that is not a failure of
// modelgate itself (a rolled-back canary exits 3).
type exitErr struct {
	code    int
	msg     string
	printed bool // the outcome is on stdout already (as JSON with -o json)
}

func (e *exitErr) Error() string { return e.msg }

type usageErr struct{ error }

func reportError(g *globals, err error) int {
	if err == nil {
		return exitOK
	}
	code := exitCode(err)
	if code == exitRolledBack {
		return code // the outcome was printed already
	}
	var ee *exitErr
	if g.json() && !(errors.As(err, &ee) && ee.printed) {
		_ = json.NewEncoder(g.stdout).Encode(map[string]any{"error": map[string]string{
			"code": modelgate.ErrorCode(err), "message": modelgate.ErrorMessage(err)}})
	}
	fmt.Fprintln(g.stderr, "modelgate: "+modelgate.ErrorMessage(err))
	if code == exitUsage {
		var u *usageErr
		if errors.As(err, &u) {
			fmt.Fprintln(g.stderr, "Run 'modelgate --help' or 'modelgate COMMAND --help' for usage.")
		}
	}
	return code
}

func exitCode(err error) int {
	var ee *exitErr
	var ce *configError
	var ue *usageErr
	switch {
	case errors.As(err, &ee):
		return ee.code
	case errors.As(err, &ce), errors.As(err, &ue):
		return exitUsage
	case strings.HasPrefix(err.Error(), "unknown command"), strings.HasPrefix(err.Error(), "unknown flag"):
		return exitUsage
	}
	return exitError
}

func newRoot(g *globals) *cobra.Command {
	root := &cobra.Command{
		Use:   "modelgate",
		Short: "Promote a registered model to production through staging, a judged canary and a recorded decision",
		Long: `modelgate runs the model-promotion playbook unattended:

  preconditions  the version is in Staging with git_sha, dataset_version and approver
                 tags, approved by every required role, and production has a version
                 to roll back to
  1 verify       download the artifact and check its model_sha256 digest
  2 staging      deploy to staging and wait until it is ready
  3 smoke        smoke requests and evaluation on ground truth against staging
  4 canary       send 10% of production traffic to the candidate, verify the split
  5 window       watch canary against production for 30 minutes
  6 decision     promote or roll back, with the reasons
  7 rollout      100% to the new version; Production in the registry, the old one Archived
  8 baseline     keep the canary's figures as the next release's baseline

Every step is persisted: a crash resumes where it stopped (modelgate promote --resume).
Records: a hash-chained audit trail, CHANGELOG.md and a report per promotion.

Try it with nothing installed:  modelgate demo`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().StringVar(&g.configPath, "config", "modelgate.yaml", "configuration file")
	root.PersistentFlags().StringVarP(&g.output, "output", "o", "text", "output format: text or json")
	root.PersistentPreRunE = func(cmd *cobra.Command, _ []string) error {
		if g.output != "text" && g.output != "json" {
			return &usageErr{fmt.Errorf("--output must be text or json, not %q", g.output)}
		}
		return nil
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &usageErr{err} })
	_ = root.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]string{"text", "json"}, cobra.ShellCompDirectiveNoFileComp))
	root.AddCommand(newPromoteCmd(g), newRollbackCmd(g), newAbortCmd(g), newStatusCmd(g), newApproveCmd(g), newAuditCmd(g),
		newRegistryCmd(g), newServeCmd(g), newDeployCmd(g), newDemoCmd(g), newUICmd(g), newVersionCmd(g), newReplayCmd(g))
	root.AddCommand(newServerCmd(g), newGrafanaCmd(g), newAlertsCmd(g), newBakeCmd(g), newSummaryCmd(g))
	return root
}

// nArgs is cobra.ExactArgs with a usage exit code.
func nArgs(n int, names string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return &usageErr{fmt.Errorf("%s expects %s, got %d argument(s)", cmd.CommandPath(), names, len(args))}
		}
		return nil
	}
}

// config loads the configuration named by --config.
func (g *globals) config(cmd *cobra.Command) (*Config, error) {
	return loadConfig(g.configPath, cmd.Flags().Changed("config") || cmd.Root().PersistentFlags().Changed("config"))
}

func (g *globals) printJSON(v any) error {
	enc := json.NewEncoder(g.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// warnings is the logger of commands that act: what a person waiting should
// know (retries, slow platforms, failed notifications) goes to stderr.
func (g *globals) warnings() *slog.Logger {
	return slog.New(slog.NewTextHandler(g.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}
