package modelgatetest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/modelgate/modelgate"
)

// DeployerSubject is a serving platform under test: its Deployer and what
// the suite cannot make itself, real artifacts and a look at what serves.
// Every Deployer method must have taken effect when it returns (the engine
// reads Traffic right after StartCanary), so there is no hook to wait for
// the platform: a platform that converges later waits inside its Deployer.
type DeployerSubject struct {
	Deployer modelgate.Deployer
	// Deployment returns what Deployer needs to serve version "1", "2" or
	// "3" of model: a verified model directory, its digest and its source.
	Deployment func(t *testing.T, model, version string) modelgate.Deployment
	// Serves returns the version that answers a prediction at ep. Nil when
	// no data plane runs in the test: endpoints are then only checked to be
	// well formed.
	Serves func(ctx context.Context, ep modelgate.Endpoint) (string, error)
	// State returns what else the platform shows of model, as a value of
	// exported fields (its revisions, when the split was set, spec
	// generations). A repeated call must leave it as the first one did, or a
	// resumed promotion would restart the canary's window or roll out a new
	// revision. Nil compares the split alone.
	State func(ctx context.Context, model string) (any, error)
	// StagingTimeout bounds DeployStaging. Zero means 30s.
	StagingTimeout time.Duration
}

// TestDeployer runs the deployer conformance suite: the traffic split the
// root interface specifies, and that every method is idempotent, which
// crash recovery rests on. open is called once per subtest; it may return
// a shared platform, since every subtest deploys a model of its own.
func TestDeployer(t *testing.T, open func(t *testing.T) DeployerSubject) {
	tests := []struct {
		name string
		fn   func(r *deployerRun)
	}{
		{"CheckTarget", testCheckTarget},
		{"NothingDeployed", testNothingDeployed},
		{"FirstDeployment", testFirstDeployment},
		{"DeployStaging", testDeployStaging},
		{"StartCanary", testStartCanary},
		{"CanaryPercentChange", testCanaryPercentChange},
		{"Promote", testPromote},
		{"RollbackCanary", testRollbackCanary},
		{"RollbackPromoted", testRollbackPromoted},
		{"PromoteOtherVersionRefused", testPromoteOtherVersion},
		{"CanaryPercentOutOfRange", testCanaryPercentOutOfRange},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.fn(&deployerRun{t: t, s: open(t), model: uniqueName("d")})
		})
	}
}

// deployerRun is one subtest: the subject and the model it deploys.
type deployerRun struct {
	t     *testing.T
	s     DeployerSubject
	model string
}

func (r *deployerRun) dep(version string) modelgate.Deployment {
	r.t.Helper()
	return r.s.Deployment(r.t, r.model, version)
}

func (r *deployerRun) must(what string, err error) {
	r.t.Helper()
	if err != nil {
		r.t.Fatalf("%s: %v", what, err)
	}
}

func (r *deployerRun) wantTraffic(after string, want modelgate.TrafficSplit) {
	r.t.Helper()
	got, err := r.s.Deployer.Traffic(r.t.Context(), r.model)
	r.must("Traffic after "+after, err)
	if diff := cmp.Diff(want, got); diff != "" {
		r.t.Errorf("Traffic after %s (-want +got):\n%s", after, diff)
	}
}

func (r *deployerRun) state() any {
	r.t.Helper()
	if r.s.State == nil {
		return nil
	}
	st, err := r.s.State(r.t.Context(), r.model)
	r.must("State", err)
	return st
}

// twice makes call, checks production's split is want, makes the call again
// and checks it neither failed nor changed anything observable.
func (r *deployerRun) twice(what string, want modelgate.TrafficSplit, call func(ctx context.Context) error) {
	r.t.Helper()
	r.must(what, call(r.t.Context()))
	r.wantTraffic(what, want)
	once := r.state()
	r.must(what+" repeated", call(r.t.Context()))
	r.wantTraffic(what+" repeated", want)
	if diff := cmp.Diff(once, r.state()); diff != "" {
		r.t.Errorf("repeating %s changed the platform (-once +twice):\n%s", what, diff)
	}
}

// seed serves version at 100% on an empty production, as the engine's first
// deployment does (Rollback: serve this version's spec, no canary).
func (r *deployerRun) seed(version string) {
	r.t.Helper()
	r.must("first deployment of version "+version, r.s.Deployer.Rollback(r.t.Context(), r.dep(version)))
	r.wantTraffic("the first deployment", modelgate.TrafficSplit{Stable: version})
}

// startCanary sets up a canary next to stable version 1 (seeded).
func (r *deployerRun) startCanary(version string, percent int) {
	r.t.Helper()
	r.must("StartCanary", r.s.Deployer.StartCanary(r.t.Context(), r.dep(version), percent))
	r.wantTraffic("StartCanary", modelgate.TrafficSplit{Stable: "1", Canary: version, CanaryPercent: percent})
}

// wantServes checks ep is well formed and, with a data plane, that version
// answers there.
func (r *deployerRun) wantServes(what string, ep modelgate.Endpoint, version string) {
	r.t.Helper()
	u, err := url.Parse(ep.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || ep.Name == "" {
		r.t.Errorf("%s endpoint %+v: want an absolute http(s) URL and a model name", what, ep)
		return
	}
	if r.s.Serves == nil {
		return
	}
	got, err := r.s.Serves(r.t.Context(), ep)
	if err != nil || got != version {
		r.t.Errorf("%s endpoint %+v answered with version %q (%v), want %q", what, ep, got, err, version)
	}
}

func (r *deployerRun) wantProduction(version string) {
	r.t.Helper()
	ep, err := r.s.Deployer.Production(r.t.Context(), r.model)
	r.must("Production", err)
	r.wantServes("production", ep, version)
}

func (r *deployerRun) stagingTimeout() time.Duration {
	if r.s.StagingTimeout > 0 {
		return r.s.StagingTimeout
	}
	return 30 * time.Second
}

// ServedVersion posts body to ep's V1 predict path
// (URL+"/v1/models/<name>:predict") and returns the value of header, which
// names the version that answered: a DeployerSubject.Serves for a data plane
// that says who answered (the gateway's X-Model-Version).
func ServedVersion(ctx context.Context, ep modelgate.Endpoint, body, header string) (string, error) {
	u := ep.URL + "/v1/models/" + url.PathEscape(ep.Name) + ":predict"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("POST %s: %s: %s", u, resp.Status, b)
	}
	return resp.Header.Get(header), nil
}
