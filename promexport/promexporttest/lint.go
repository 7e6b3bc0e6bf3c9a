// Package promexporttest checks a Prometheus exposition as Prometheus's
// own tools do, for the tests of every package that exports metrics.
package promexporttest

import (
	"bytes"
	"os"
	"os/exec"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
)

// Lint fails tb when the exposition text has a problem client_golang's
// promlint or `promtool check metrics` (Debian's prometheus package,
// scripts/prometheus-install) reports. Without promtool it skips tb (fails
// it under MODELGATE_REQUIRE_INTEGRATION=1).
func Lint(tb testing.TB, text []byte) {
	tb.Helper()
	problems, err := promlint.New(bytes.NewReader(text)).Lint()
	if err != nil || len(problems) > 0 {
		tb.Errorf("promlint: %v %+v", err, problems)
	}
	path, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("MODELGATE_REQUIRE_INTEGRATION") == "1" {
			tb.Fatal("promtool not found: scripts/prometheus-install installs it")
		}
		tb.Skip("promtool not found (scripts/prometheus-install)")
	}
	cmd := exec.Command(path, "check", "metrics")
	cmd.Stdin = bytes.NewReader(text)
	if out, err := cmd.CombinedOutput(); err != nil || len(bytes.TrimSpace(out)) > 0 {
		tb.Errorf("promtool check metrics: %v\n%s", err, out)
	}
}
