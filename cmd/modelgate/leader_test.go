package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/kserve/kservetest"
	"github.com/modelgate/modelgate/postgres/postgrestest"
)

// server.leader_election is checked when the configuration loads, naming
// the key and what is expected.
func TestConfigLeaderElectionErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct{ name, config, want string }{
		{"SQLiteState", "server: {leader_election: {namespace: mlops, name: modelgate-server}}\n",
			"server.leader_election: replicas must share their state; set state.type postgres"},
		{"NoLease", "state: {type: postgres}\nserver: {leader_election: {kubeconfig: x}}\n",
			"server.leader_election: expected the Lease's namespace and name"},
		{"Timings", "state: {type: postgres}\nserver: {leader_election: {namespace: mlops, name: s, lease_duration: 10s, renew_deadline: 10s}}\n",
			"server.leader_election: lease_duration (10s) must be longer than renew_deadline (10s)"},
		{"Retry", "state: {type: postgres}\nserver: {leader_election: {namespace: mlops, name: s, retry_period: 9s}}\n",
			"server.leader_election: renew_deadline (10s) must be longer than 1.2 × retry_period (9s)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, tt.name+".yaml")
			if err := os.WriteFile(path, []byte(tt.config), 0o644); err != nil {
				t.Fatal(err)
			}
			code, _, stderr := runCLI(t, "--config", path, "approve", "m", "--version", "2", "--role", "r", "--by", "ada")
			if code != 2 || !strings.Contains(stderr, tt.want) {
				t.Fatalf("exit %d, stderr %q; want 2 containing %q", code, stderr, tt.want)
			}
		})
	}
}

// startReplica runs `modelgate server` on listen as its own process (env
// added) and waits until it answers /healthz.
func startReplica(t *testing.T, bin string, w *cliWorld, listen string, env ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(bin, "--config", w.config, "server", "--listen", listen)
	cmd.Dir, cmd.Env = w.dir, append(os.Environ(), env...)
	cmd.Stderr = &lockedBuffer{}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Signal(syscall.SIGTERM); _ = cmd.Wait() })
	if _, ok := waitHealth(t, "http://"+listen, 10*time.Second, func(health) bool { return true }); !ok {
		t.Fatalf("replica on %s is not up: %s", listen, cmd.Stderr)
	}
	return cmd
}

type health struct {
	Leading bool
	Leader  string
}

// waitHealth polls /healthz until ok accepts it.
func waitHealth(t *testing.T, url string, within time.Duration, ok func(health) bool) (health, bool) {
	t.Helper()
	var h health
	for end := time.Now().Add(within); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		resp, err := http.Get(url + "/healthz")
		if err != nil {
			continue
		}
		err = json.NewDecoder(resp.Body).Decode(&h)
		resp.Body.Close()
		if err == nil && ok(h) {
			return h, true
		}
	}
	return h, false
}

// Two replicas share PostgreSQL state and a Lease on the real API server.
// The standby refuses to start a promotion (503, Retry-After, naming the
// leader) but records approvals; the leader is killed (SIGKILL) in the
// canary window; the standby takes the lease over, resumes the promotion
// and finishes it, and no action was done twice.
func TestServer_LeaderFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the real binary, PostgreSQL and the API server")
	}
	pg := postgrestest.Start(t)
	t.Setenv("MODELGATE_POSTGRES_DSN", pg.NewDatabase(t))
	kc, err := kservetest.Start()
	kservetest.Check(t, err)
	t.Cleanup(func() { _ = kc.Stop() })
	listenA, listenB := freeAddr(t), freeAddr(t)
	w := newServerWorld(t, "{percent: 50, window: 8s, interval: 1s, extension: 10s, min_requests: 20}", listenA)
	cfg, err := os.ReadFile(w.config)
	if err != nil {
		t.Fatal(err)
	}
	cfg = []byte(strings.Replace(string(cfg), "tokens_file: tokens.yaml}", fmt.Sprintf("tokens_file: tokens.yaml, leader_election: {namespace: mlops, name: modelgate-e2e, kubeconfig: %q, lease_duration: 4s, renew_deadline: 3s, retry_period: 1s}}\nstate: {type: postgres}", kc.Kubeconfig), 1))
	if err := os.WriteFile(w.config, cfg, 0o644); err != nil {
		t.Fatal(err)
	}
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

	a := startReplica(t, bin, w, listenA, drillCrashEnv+"=window")
	urlA, urlB := "http://"+listenA, "http://"+listenB
	ha, ok := waitHealth(t, urlA, 20*time.Second, func(h health) bool { return h.Leading })
	if !ok {
		t.Fatalf("the first replica does not lead: %s", a.Stderr)
	}
	b := startReplica(t, bin, w, listenB)
	if hb, _ := waitHealth(t, urlB, 5*time.Second, func(h health) bool { return h.Leader == ha.Leader }); hb.Leading || hb.Leader != ha.Leader {
		t.Fatalf("the standby's /healthz = %+v, want led by %s", hb, ha.Leader)
	}
	approveBoth(t, urlB, "2") // approvals are records: any replica takes them
	wantStandbyRefuses(t, urlB, ha.Leader)

	p, err := client(urlA, "olga").StartPromotion(context.Background(), "demand-forecast", "2")
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Wait(); err == nil || !strings.Contains(err.Error(), "killed") {
		t.Fatalf("the leader was not killed in the window: %v\n%s", err, a.Stderr)
	}
	killed := time.Now()
	if _, ok := waitHealth(t, urlB, 30*time.Second, func(h health) bool { return h.Leading }); !ok {
		t.Fatalf("the standby did not take over within 30s: %s", b.Stderr)
	}
	t.Logf("the standby leads %s after the leader was killed (lease_duration 4s, retry_period 1s)", time.Since(killed).Round(100*time.Millisecond))
	end, err := client(urlB, "olga").FollowPromotion(context.Background(), p.ID, 0, func(modelgate.Event) {})
	if err != nil || end.Outcome != modelgate.OutcomePromoted {
		t.Fatalf("after the failover: %+v, %v\n%s", end, err, b.Stderr)
	}
	w.wantServing(t, "2")
	trail := filepath.Join(w.dir, "trail.jsonl")
	w.run(t, 0, "audit", "export", trail)
	wantTrail(t, trail, `"action":"lock.taken_over"`, `"action":"promotion.resumed"`)
	wantOnce(t, trail, "action.")
}

// wantStandbyRefuses checks a standby answers a promotion's start 503 with
// Retry-After, naming the leader.
func wantStandbyRefuses(t *testing.T, url, leader string) {
	t.Helper()
	req, _ := http.NewRequest("POST", url+"/api/v1/promotions", strings.NewReader(`{"model": "demand-forecast", "version": "2"}`))
	req.Header.Set("Authorization", "Bearer "+tokenOf("olga"))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" || !strings.Contains(string(body), "not the leader; leader is "+leader) {
		t.Fatalf("start on the standby: %s, Retry-After %q, %s; want 503 naming %s", resp.Status, resp.Header.Get("Retry-After"), body, leader)
	}
}
