package main

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// buildInfo is what `modelgate version` reports, read from the build
// information the Go toolchain embeds (module version, VCS commit and time),
// so a binary built by `go install …@v1.2.3` or from a checkout describes
// itself without flags at build time.
type buildInfo struct {
	Module   string `json:"module"`
	Version  string `json:"version"`
	Commit   string `json:"commit,omitempty"`
	Date     string `json:"date,omitempty"`
	Modified bool   `json:"modified,omitempty"` // built from a working tree with uncommitted changes
	Go       string `json:"go"`
	Platform string `json:"platform"`
}

func readBuildInfo() buildInfo {
	b := buildInfo{Version: "unknown", Go: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return b
	}
	b.Module, b.Version = info.Main.Path, info.Main.Version
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			b.Commit = s.Value
		case "vcs.time":
			b.Date = s.Value
		case "vcs.modified":
			b.Modified = s.Value == "true"
		}
	}
	return b
}

func newVersionCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print modelgate's version, commit and build date",
		Args:  nArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			b := readBuildInfo()
			if g.json() {
				return g.printJSON(b)
			}
			fmt.Fprintf(g.stdout, "modelgate %s\n", b.Version)
			if b.Commit != "" {
				dirty := ""
				if b.Modified {
					dirty = " (modified)"
				}
				fmt.Fprintf(g.stdout, "  commit %s%s, %s\n", b.Commit, dirty, b.Date)
			}
			fmt.Fprintf(g.stdout, "  module %s, %s, %s\n", b.Module, b.Go, b.Platform)
			return nil
		},
	}
}
