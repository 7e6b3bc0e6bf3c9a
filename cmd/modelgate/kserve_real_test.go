package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/kserve/kservetest"
)

// TestPromoteOnRealKServe is TestPromoteOnKServe's run with KServe v0.20.0's
// real controller manager deciding every status field modelgate reads, in
// Knative (Serverless) mode with the Knative Service stand-in, through the
// real binary as separate processes: `deploy` seeds v1; `promote` of v2 is
// killed with SIGKILL in the middle of its canary window and `promote
// --resume` finishes it (promoted); `promote` of v3, which errs on 20% of
// requests, is rolled back (exit 3). The data plane is reached as through
// a cluster's ingress: an HTTP proxy in front of the URLs KServe publishes.
func TestPromoteOnRealKServe(t *testing.T) {
	if testing.Short() {
		t.Skip("runs canary windows against KServe's real controller")
	}
	c, err := kservetest.StartReal(kservetest.RealOptions{})
	kservetest.Check(t, err)
	t.Cleanup(func() { _ = c.Stop() })
	exp := &revisionExporter{namespace: "mlops", name: "demand-forecast"}
	w, _, proxy := kserveWorldOn(t, c, exp, "bake: {duration: 0s}\n")
	r := newRealRunner(t, w, proxy)

	full := []string{"git_sha=abc", "dataset_version=d1", "approver=ada"}
	w.register(t, "1", "Production", full...)
	for _, v := range []string{"2", "3"} {
		w.register(t, v, "Staging", full...)
		for _, role := range []string{"data_science_lead", "compliance_officer"} {
			w.run(t, 0, "approve", "demand-forecast", "--version", v, "--role", role, "--by", approverOf[role])
		}
	}
	r.must(t, 0, "deploy", "demand-forecast", "--version", "1")
	mustServe(t, c, w, "1")

	r.killMidWindow(t, "promote", "demand-forecast", "--version", "2")
	if out := r.must(t, 0, "promote", "demand-forecast", "--resume"); !strings.Contains(out, "PROMOTED") {
		t.Fatalf("promote --resume after SIGKILL: %s", out)
	}
	mustServe(t, c, w, "2")

	var res struct {
		Promotion modelgate.Promotion
		Report    string
	}
	if err := json.Unmarshal([]byte(r.must(t, 3, "promote", "demand-forecast", "--version", "3", "-o", "json")), &res); err != nil {
		t.Fatal(err)
	}
	if res.Promotion.Outcome != modelgate.OutcomeRolledBack || !strings.Contains(strings.Join(res.Promotion.Reasons, " "), "error_rate") {
		t.Fatalf("v3: outcome %s, reasons %q; want rolled_back naming error_rate", res.Promotion.Outcome, res.Promotion.Reasons)
	}
	mustServe(t, c, w, "2")
	r.must(t, 0, "audit", "verify", filepath.Join(w.dir, ".modelgate", "audit.jsonl"))
}

// realRunner runs the built binary in w's directory with HTTP_PROXY at the
// stand-in data plane: requests to the cluster's URLs go there, those to
// loopback addresses (the API server, Prometheus) directly.
type realRunner struct {
	bin, proxy string
	w          *cliWorld
}

func newRealRunner(t *testing.T, w *cliWorld, proxy string) *realRunner {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "modelgate")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return &realRunner{bin: bin, proxy: proxy, w: w}
}

func (r *realRunner) command(args ...string) *exec.Cmd {
	cmd := exec.Command(r.bin, append([]string{"--config", r.w.config}, args...)...)
	cmd.Dir = r.w.dir
	cmd.Env = append(os.Environ(), "HTTP_PROXY="+r.proxy, "http_proxy="+r.proxy)
	return cmd
}

// must runs args and fails t unless the exit code is want; it returns
// standard output.
func (r *realRunner) must(t *testing.T, want int, args ...string) string {
	t.Helper()
	cmd := r.command(args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	code := 0
	if err := cmd.Run(); err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatal(err)
		}
		code = ee.ExitCode()
	}
	if code != want {
		t.Fatalf("modelgate %s: exit %d, want %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, want, out.String(), errb.String())
	}
	return out.String()
}

// killMidWindow starts args and SIGKILLs the process once it reports
// progress through its canary window.
func (r *realRunner) killMidWindow(t *testing.T, args ...string) {
	t.Helper()
	cmd := r.command(args...)
	var out, errs lockedBuffer
	cmd.Stdout, cmd.Stderr = &out, &errs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for !strings.Contains(errs.String(), "elapsed,") {
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			t.Fatalf("no window progress within 2m:\n%s\n%s", out.String(), errs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err == nil {
		t.Fatal("the killed promote exited cleanly")
	}
	t.Logf("killed mid-window; its last words:\n%s", lastLines(errs.String(), 3))
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
