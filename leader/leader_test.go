package leader_test

import (
	"context"
	"errors"
	"net/http"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"k8s.io/client-go/rest"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/kserve/kservetest"
	"github.com/modelgate/modelgate/leader"
)

var cluster *kservetest.Cluster

func TestMain(m *testing.M) {
	code := m.Run()
	if cluster != nil {
		_ = cluster.Stop()
	}
	os.Exit(code)
}

func mustCluster(t *testing.T) *kservetest.Cluster {
	t.Helper()
	if cluster == nil {
		c, err := kservetest.Start()
		kservetest.Check(t, err)
		cluster = c
	}
	return cluster
}

// crashable is a client config whose connection can be cut, as a crashed
// or partitioned process stops talking to the API server without releasing
// its Lease.
func crashable(cfg *rest.Config) (*rest.Config, *atomic.Bool) {
	cfg = rest.CopyConfig(cfg)
	dead := &atomic.Bool{}
	cfg.WrapTransport = func(rt http.RoundTripper) http.RoundTripper {
		return roundTripper(func(r *http.Request) (*http.Response, error) {
			if dead.Load() {
				return nil, errors.New("crashed")
			}
			return rt.RoundTrip(r)
		})
	}
	return cfg, dead
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// candidate runs an elector in the background; leading receives its
// identity each time it starts leading.
type candidate struct {
	e       *leader.Elector
	dead    *atomic.Bool
	cancel  context.CancelFunc
	done    chan error
	working atomic.Bool
}

func startCandidate(t *testing.T, cfg *rest.Config, lease, id string, leading chan<- string) *candidate {
	t.Helper()
	cfg, dead := crashable(cfg)
	e, err := leader.New(cfg, "mlops", lease, id)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &candidate{e: e, dead: dead, cancel: cancel, done: make(chan error, 1)}
	go func() {
		c.done <- e.Run(ctx, func(ctx context.Context) {
			c.working.Store(true)
			leading <- id
			<-ctx.Done()
			c.working.Store(false)
		})
	}()
	t.Cleanup(func() { cancel(); <-c.done })
	return c
}

// TestLeaderTakeover: of two candidates one leads; when it crashes (stops
// renewing, keeps its Lease) the other takes over within LeaseDuration plus
// a retry, and the crashed one stops its work once its renew deadline
// passes.
func TestLeaderTakeover(t *testing.T) {
	c := mustCluster(t)
	leading := make(chan string, 4)
	a := startCandidate(t, c.AsServiceAccount("mlops", "modelgate"), "takeover", "replica-a", leading)
	first := waitLeader(t, leading, 30*time.Second)
	if first != "replica-a" {
		t.Fatalf("first leader = %q, want replica-a (the only candidate)", first)
	}
	b := startCandidate(t, c.AsServiceAccount("mlops", "modelgate"), "takeover", "replica-b", leading)
	time.Sleep(3 * time.Second)
	if b.e.Leading() || b.working.Load() {
		t.Fatal("the standby leads while the leader renews")
	}
	if got := b.e.Leader(); got != "replica-a" {
		t.Errorf("the standby sees leader %q, want replica-a", got)
	}
	crashed := time.Now()
	a.dead.Store(true)
	if next := waitLeader(t, leading, 30*time.Second); next != "replica-b" {
		t.Fatalf("next leader = %q, want replica-b", next)
	}
	took := time.Since(crashed)
	t.Logf("takeover after the leader crashed: %s (lease_duration 15s, retry_period 2s)", took.Round(100*time.Millisecond))
	if took > 30*time.Second {
		t.Errorf("takeover took %s, want under 30s", took)
	}
	if a.working.Load() || a.e.Leading() {
		t.Error("the crashed leader still works after its renew deadline")
	}
}

// TestLeaderRelease: a leader that stops (SIGTERM) releases the Lease after
// its work returns, so the standby takes over in about a retry period.
func TestLeaderRelease(t *testing.T) {
	c := mustCluster(t)
	leading := make(chan string, 4)
	a := startCandidate(t, c.AsServiceAccount("mlops", "modelgate"), "release", "replica-a", leading)
	waitLeader(t, leading, 30*time.Second)
	b := startCandidate(t, c.AsServiceAccount("mlops", "modelgate"), "release", "replica-b", leading)
	for end := time.Now().Add(10 * time.Second); b.e.Leader() != "replica-a"; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatal("the standby never saw the leader")
		}
	}
	stopped := time.Now()
	a.cancel()
	if err := <-a.done; err != nil {
		t.Fatal(err)
	}
	a.done <- nil // for the cleanup
	if a.working.Load() {
		t.Error("Run returned while the leader's work still ran")
	}
	if next := waitLeader(t, leading, 10*time.Second); next != "replica-b" {
		t.Fatalf("next leader = %q, want replica-b", next)
	}
	t.Logf("takeover after the leader stopped: %s", time.Since(stopped).Round(100*time.Millisecond))
}

// TestLeaderCheck: deploy/rbac.yaml lets the server's service account use
// Leases in its namespace, and only there.
func TestLeaderCheck(t *testing.T) {
	c := mustCluster(t)
	for ns, want := range map[string]string{"mlops": "", "mlops-staging": modelgate.EUNAUTHORIZED} {
		e, err := leader.New(c.AsServiceAccount("mlops", "modelgate"), ns, "modelgate-server", "a")
		if err != nil {
			t.Fatal(err)
		}
		if err := e.Check(context.Background()); want == "" && err != nil || want != "" && modelgate.ErrorCode(err) != want {
			t.Errorf("Check in %s = %v, want %q", ns, err, want)
		}
	}
}

// TestLeaderConfig: timings client-go would reject are configuration errors.
func TestLeaderConfig(t *testing.T) {
	e, err := leader.New(&rest.Config{Host: "https://127.0.0.1:1"}, "mlops", "modelgate", "a")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Validate(); err != nil {
		t.Errorf("defaults: %v", err)
	}
	e.LeaseDuration = e.RenewDeadline
	if err := e.Validate(); modelgate.ErrorCode(err) != modelgate.EINVALID {
		t.Errorf("lease_duration = renew_deadline: %v, want EINVALID", err)
	}
	e.LeaseDuration, e.RetryPeriod = 15*time.Second, 9*time.Second
	if err := e.Validate(); modelgate.ErrorCode(err) != modelgate.EINVALID {
		t.Errorf("renew_deadline < 1.2 × retry_period: %v, want EINVALID", err)
	}
}

func waitLeader(t *testing.T, leading <-chan string, within time.Duration) string {
	t.Helper()
	select {
	case id := <-leading:
		return id
	case <-time.After(within):
		t.Fatalf("no leader within %s", within)
		return ""
	}
}
