package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// registerApproved registers the example's v1 in Production and each of
// versions in Staging, with the tags the configuration requires, approved
// in both roles it names.
func (w *cliWorld) registerApproved(t *testing.T, versions ...string) {
	t.Helper()
	full := []string{"git_sha=abc", "dataset_version=d1", "approver=ada"}
	w.register(t, "1", "Production", full...)
	for _, v := range versions {
		w.register(t, v, "Staging", full...)
		for _, role := range []string{"data_science_lead", "compliance_officer"} {
			w.run(t, 0, "approve", "demand-forecast", "--version", v, "--role", role, "--by", approverOf[role])
		}
	}
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
	out, _ := r.mustBoth(t, want, args...)
	return out
}

// mustBoth is must returning standard output and standard error.
func (r *realRunner) mustBoth(t *testing.T, want int, args ...string) (string, string) {
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
	return out.String(), errb.String()
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
