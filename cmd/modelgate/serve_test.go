package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedBuffer is a bytes.Buffer safe for a command writing while the test
// reads.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startServe runs `modelgate serve` in-process until the test ends and
// waits until it is ready.
func startServe(t *testing.T, config, listen string) *lockedBuffer {
	t.Helper()
	stderr := &lockedBuffer{}
	g := &globals{stdout: &lockedBuffer{}, stderr: stderr}
	root := newRoot(g)
	root.SetArgs([]string{"--config", config, "serve"})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	for range 200 {
		if resp, err := http.Get("http://" + listen + "/v2/health/ready"); err == nil {
			resp.Body.Close()
			return stderr
		}
		select {
		case err := <-done:
			t.Fatalf("serve stopped: %v\n%s", err, stderr.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
	t.Fatalf("serve is not ready after 2s:\n%s", stderr.String())
	return nil
}

// The README's commands work with the defaults: `modelgate serve &`
// generates the admin token into the state directory, the CLI finds it
// there, and the data listener serves no admin API.
func TestServe_DefaultsAndAdminToken(t *testing.T) {
	t.Setenv("MODELGATE_ADMIN_TOKEN", "")
	dir := t.TempDir()
	if err := extractExample(filepath.Join(dir, "example")); err != nil {
		t.Fatal(err)
	}
	listen, admin := freeAddr(t), freeAddr(t)
	config := filepath.Join(dir, "modelgate.yaml")
	cfg := fmt.Sprintf("model: demand-forecast\nplatform: {type: local, listen: %s, admin_listen: %s}\n", listen, admin)
	if err := os.WriteFile(config, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	stderr := startServe(t, config, listen)
	tokenFile := filepath.Join(dir, ".modelgate", "admin-token")
	if fi, err := os.Stat(tokenFile); err != nil || fi.Mode().Perm() != 0o600 || !strings.Contains(stderr.String(), tokenFile) {
		t.Fatalf("token file %v (%v); serve said:\n%s", fi, err, stderr.String())
	}

	w := &cliWorld{dir: dir, config: config, listen: listen}
	w.register(t, "1", "Production", "git_sha=abc", "dataset_version=d1", "approver=ada")
	w.run(t, 0, "deploy", "demand-forecast", "--version", "1")
	resp, err := http.Post("http://"+listen+"/v1/models/demand-forecast:predict", "application/json",
		strings.NewReader(`{"instances": [{"store_id": 42, "date": "2025-01-15", "promo": 1}]}`))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("prediction after deploy: %v %v", resp, err)
	}
	resp.Body.Close()
	if resp, err := http.Get("http://" + listen + "/admin/models"); err != nil || resp.StatusCode != 404 {
		t.Errorf("GET /admin/models on the data listener: %v %v, want 404", resp, err)
	}

	// Another token in the CLI's environment is refused, and the message
	// says where the token comes from.
	t.Setenv("MODELGATE_ADMIN_TOKEN", "not-the-token")
	out := runErr(t, w, 1, "deploy", "demand-forecast", "--version", "1")
	if !strings.Contains(out, "the admin token sent is not the gateway's") || !strings.Contains(out, "platform.admin_token_file") {
		t.Errorf("deploy with a wrong token: %s", out)
	}
}

func TestServe_RefusesNonLoopback(t *testing.T) {
	dir := t.TempDir()
	config := filepath.Join(dir, "modelgate.yaml")
	if err := os.WriteFile(config, []byte("platform: {type: local}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := runCLI(t, "--config", config, "serve", "--listen", "0.0.0.0:0")
	if code != 2 || !strings.Contains(stderr, "platform.listen: 0.0.0.0:0 can be reached from other machines; set platform.allow_non_loopback: true") {
		t.Errorf("exit %d: %s", code, stderr)
	}
}
