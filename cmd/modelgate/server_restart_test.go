package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/modelgate/modelgate"
)

// startServerProcess runs `modelgate server` as its own process (env
// added) and waits until it answers /healthz.
func startServerProcess(t *testing.T, bin string, w *cliWorld, url string, env ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(bin, "--config", w.config, "server")
	cmd.Dir, cmd.Env = w.dir, append(os.Environ(), env...)
	cmd.Stderr = &lockedBuffer{}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Signal(syscall.SIGTERM); _ = cmd.Wait() })
	for range 500 {
		if resp, err := http.Get(url + "/healthz"); err == nil {
			resp.Body.Close()
			return cmd
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("server is not up: %s", cmd.Stderr)
	return nil
}

// The server is killed (SIGKILL) in the canary window while `modelgate
// promote --server` follows the promotion; a new server on the same state
// resumes it, the promote command reconnects and exits 0 (promoted), no
// action was done twice, and production serves v2 alone. Then v3 through
// `promote --server` exits 3 (rolled back), as the local command does.
func TestServer_RestartMidWindowResumes(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the real binary through canary windows")
	}
	listen := freeAddr(t)
	url := "http://" + listen
	w := newServerWorld(t, "{percent: 50, window: 8s, interval: 1s, extension: 10s, min_requests: 20}", listen)
	w.seed(t)
	bin := filepath.Join(w.dir, "modelgate")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	traffic, err := startTraffic(context.Background(), w.listen, "demand-forecast", filepath.Join(w.dir, "example", "data", "live_requests.csv"), 150)
	if err != nil {
		t.Fatal(err)
	}
	defer traffic.stop()
	first := startServerProcess(t, bin, w, url, drillCrashEnv+"=window")
	approveBoth(t, url, "2")
	promote := exec.Command(bin, "--config", w.config, "promote", "demand-forecast", "--version", "2", "--server", url)
	promote.Dir, promote.Env = w.dir, append(os.Environ(), tokenEnv+"="+tokenOf("olga"))
	var out, errs lockedBuffer
	promote.Stdout, promote.Stderr = &out, &errs
	if err := promote.Start(); err != nil {
		t.Fatal(err)
	}
	if err := first.Wait(); err == nil || !strings.Contains(err.Error(), "killed") {
		t.Fatalf("the first server was not killed in the window: %v\n%s", err, first.Stderr)
	}
	startServerProcess(t, bin, w, url)
	if err := promote.Wait(); err != nil {
		t.Fatalf("promote --server across the restart: %v\n%s%s", err, out.String(), errs.String())
	}
	if !strings.Contains(out.String(), "PROMOTED") || !strings.Contains(errs.String(), "reconnecting") {
		t.Fatalf("promote --server printed:\n%s%s", out.String(), errs.String())
	}
	t.Logf("promote --server across the restart:\n%s%s", errs.String(), out.String())
	w.wantServing(t, "2")
	trail := filepath.Join(w.dir, ".modelgate", "audit.jsonl")
	wantTrail(t, trail, `"action":"lock.taken_over"`, `"action":"promotion.resumed"`)
	wantOnce(t, trail, "action.")
	approveBoth(t, url, "3")
	code, _, stderr := w.binary(bin, "promote", "demand-forecast", "--version", "3", "--server", url)
	if code != exitRolledBack {
		t.Fatalf("promote --server of v3: exit %d, want 3\n%s", code, stderr)
	}
	w.wantServing(t, "2")
}

// binary runs the built binary with olga's token.
func (w *cliWorld) binary(bin string, args ...string) (int, string, string) {
	cmd := exec.Command(bin, append([]string{"--config", w.config}, args...)...)
	cmd.Dir, cmd.Env = w.dir, append(os.Environ(), tokenEnv+"="+tokenOf("olga"))
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), out.String(), errb.String()
	}
	return 0, out.String(), errb.String()
}

// wantServing checks production serves version alone.
func (w *cliWorld) wantServing(t *testing.T, version string) {
	t.Helper()
	var st struct{ Model modelgate.ModelStatus }
	if err := json.Unmarshal([]byte(w.run(t, 0, "status", "demand-forecast", "-o", "json")), &st); err != nil {
		t.Fatal(err)
	}
	if m := st.Model; m.Production != version || m.Traffic == nil || *m.Traffic != (modelgate.TrafficSplit{Stable: version}) || m.Active != nil {
		t.Fatalf("production: registry %s, serving %+v, active %+v; want %s alone", m.Production, m.Traffic, m.Active, version)
	}
}

// wantOnce checks every audit entry whose action starts with prefix is
// there once per promotion: no external action was done twice.
func wantOnce(t *testing.T, path, prefix string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, line := range bytes.Split(bytes.TrimSpace(b), []byte("\n")) {
		var e modelgate.AuditEntry
		if err := json.Unmarshal(line, &e); err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(e.Action, prefix) {
			seen[e.PromotionID+" "+e.Action]++
		}
	}
	if len(seen) == 0 {
		t.Fatalf("no %s entries", prefix)
	}
	for k, n := range seen {
		if n != 1 {
			t.Errorf("%s recorded %d times", k, n)
		}
	}
}
