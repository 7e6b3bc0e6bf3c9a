package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchreport:", err)
		os.Exit(1)
	}
}

const usage = "usage: benchreport bodies|check|deploy|closed|open|mem|table [flags] (see doc.go)"

func run(ctx context.Context, args []string, w io.Writer) error {
	if len(args) == 0 {
		return errors.New(usage)
	}
	rest := args[1:]
	switch args[0] {
	case "bodies":
		return bodiesCmd(rest)
	case "check":
		return checkCmd(ctx, rest, w)
	case "deploy":
		return deployCmd(ctx, rest)
	case "closed":
		return closedCmd(ctx, rest, w)
	case "open":
		return openCmd(ctx, rest, w)
	case "mem":
		return memCmd(rest, w)
	case "table":
		return tableCmd(rest, w)
	}
	return fmt.Errorf("unknown subcommand %q; %s", args[0], usage)
}
