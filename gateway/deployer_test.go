package gateway_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/gateway"
)

// wantCode fails unless err is a *modelgate.Error with code whose message
// contains substr.
func wantCode(t *testing.T, err error, code, substr string) {
	t.Helper()
	var e *modelgate.Error
	if !errors.As(err, &e) || e.Code != code || !strings.Contains(e.Message, substr) {
		t.Errorf("error = %#v, want %s containing %q", err, code, substr)
	}
}

func (e *testEnv) wantTraffic(want modelgate.TrafficSplit) {
	e.t.Helper()
	got, err := e.dep.Traffic(e.t.Context(), "iris")
	if err != nil {
		e.t.Fatalf("Traffic: %v", err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		e.t.Errorf("traffic (-want +got):\n%s", diff)
	}
}

func TestDeployer_Lifecycle(t *testing.T) {
	e := newTestEnv(t, nil)
	ctx := t.Context()
	for _, v := range []string{"1", "2", "3"} {
		e.register(v, 1)
	}
	if err := e.dep.CheckTarget(ctx, "iris"); err != nil {
		t.Fatalf("CheckTarget: %v", err)
	}
	e.wantTraffic(modelgate.TrafficSplit{})

	// The first deploy cannot be a canary: it becomes stable, and repeating it changes nothing.
	e.mustStartCanary("1", 10)
	e.mustStartCanary("1", 10)
	e.wantTraffic(modelgate.TrafficSplit{Stable: "1"})

	ep, err := e.dep.DeployStaging(ctx, deployment("2"), time.Second)
	if err != nil {
		t.Fatalf("DeployStaging: %v", err)
	}
	if want := (modelgate.Endpoint{URL: e.ts.URL + "/staging", Name: "iris"}); ep != want {
		t.Errorf("staging endpoint = %+v, want %+v", ep, want)
	}
	if _, err := e.dep.DeployStaging(ctx, deployment("2"), time.Second); err != nil {
		t.Fatalf("DeployStaging again: %v", err)
	}

	e.mustStartCanary("2", 10)
	e.mustStartCanary("2", 10)
	e.wantTraffic(modelgate.TrafficSplit{Stable: "1", Canary: "2", CanaryPercent: 10})
	if n := e.loadCount("2"); n != 1 {
		t.Errorf("version 2 loaded %d times, want once (the canary reuses staging's model)", n)
	}

	wantCode(t, e.dep.StartCanary(ctx, deployment("1"), 10), modelgate.ECONFLICT, "is the stable revision")
	wantCode(t, e.dep.StartCanary(ctx, deployment("3"), 0), modelgate.EINVALID, "between 1 and 99, not 0")
	wantCode(t, e.dep.StartCanary(ctx, deployment("3"), 100), modelgate.EINVALID, "between 1 and 99, not 100")
	wantCode(t, e.dep.Promote(ctx, "iris", "3"), modelgate.ECONFLICT, "cannot promote version 3")

	if err := e.dep.Promote(ctx, "iris", "2"); err != nil {
		t.Fatalf("Promote: %v", err)
	}
	if err := e.dep.Promote(ctx, "iris", "2"); err != nil {
		t.Fatalf("Promote again: %v", err)
	}
	e.wantTraffic(modelgate.TrafficSplit{Stable: "2"})
	wantCode(t, e.dep.Promote(ctx, "iris", "1"), modelgate.ECONFLICT, "production serves stable 2")

	e.mustStartCanary("3", 20)
	if err := e.dep.Rollback(ctx, deployment("2")); err != nil {
		t.Fatalf("Rollback: %v", err)
	}
	e.wantTraffic(modelgate.TrafficSplit{Stable: "2"})
	if err := e.dep.Rollback(ctx, deployment("1")); err != nil {
		t.Fatalf("Rollback to 1: %v", err)
	}
	e.wantTraffic(modelgate.TrafficSplit{Stable: "1"})
	if n := e.loadCount("1"); n != 2 {
		t.Errorf("version 1 loaded %d times, want twice (re-deployed by the rollback)", n)
	}
	if got := e.call(http.MethodPost, "/v1/models/iris:predict", `{"instances": [[1, 1]]}`, nil); got.Version != "1" {
		t.Errorf("production answered with version %q, want 1", got.Version)
	}

	prod, err := e.dep.Production(ctx, "iris")
	if want := (modelgate.Endpoint{URL: e.ts.URL, Name: "iris"}); err != nil || prod != want {
		t.Errorf("Production = %+v, %v; want %+v", prod, err, want)
	}
}

// TestDeployer_SetStableIdempotent: SetStable is the gateway's own seeding
// call, outside modelgate.Deployer (the conformance suite checks the rest):
// repeating it keeps the window running.
func TestDeployer_SetStableIdempotent(t *testing.T) {
	e := newTestEnv(t, nil)
	e.register("2", 1)
	e.mustSetStable("2")
	st, err := e.dep.Status(t.Context(), "iris")
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Minute)
	e.mustSetStable("2")
	again, err := e.dep.Status(t.Context(), "iris")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(st, again); diff != "" {
		t.Errorf("a repeated SetStable changed the status (-once +twice):\n%s", diff)
	}
}

func TestDeployer_Errors(t *testing.T) {
	e := newTestEnv(t, nil)
	ctx := t.Context()
	e.register("1", 1)

	wantCode(t, e.dep.SetStable(ctx, deployment("9")), modelgate.ENOTFOUND,
		"load model iris version 9 from /models/9: open /models/9/MLmodel: file does not exist")
	wantCode(t, e.dep.Promote(ctx, "iris", "1"), modelgate.ENOTFOUND, `model "iris" is not served in production`)
	wantCode(t, e.dep.Promote(ctx, "iris", ""), modelgate.EINVALID, "has no version")
	other := deployment("1")
	other.Model = "rose"
	wantCode(t, e.dep.Rollback(ctx, modelgate.Deployment{Model: "iris", ModelDir: "/models/1"}), modelgate.EINVALID, "has no version")
	noDir := deployment("1")
	noDir.ModelDir = ""
	wantCode(t, e.dep.SetStable(ctx, noDir), modelgate.EINVALID, "has no model_dir")
	if _, err := e.metrics.Observe(ctx, "iris"); err == nil {
		t.Error("Observe of a model without production: no error")
	} else {
		wantCode(t, err, modelgate.ENOTFOUND, "not served in production")
	}

	// A deployment naming another model than the path is refused.
	resp := e.call(http.MethodPut, "/admin/models/iris/stable", other, nil)
	want := response{Status: 400, Body: `{"code":"invalid","message":"deployment names model \"rose\" but the path names \"iris\""}`}
	if diff := cmp.Diff(want, resp); diff != "" {
		t.Errorf("model mismatch (-want +got):\n%s", diff)
	}
	resp = e.call(http.MethodPut, "/admin/models/iris/stable", `{"version": 1}`, nil)
	if resp.Status != 400 || !strings.Contains(resp.Body, "request body is not valid JSON") {
		t.Errorf("bad body: %+v", resp)
	}
}

func TestDeployer_CheckTarget_Unreachable(t *testing.T) {
	ts := httptest.NewServer(http.NotFoundHandler())
	url := ts.URL
	ts.Close()
	err := gateway.NewDeployer(url, nil).CheckTarget(t.Context(), "iris")
	wantCode(t, err, modelgate.EUNAVAILABLE, "is unreachable")
	if e := (*modelgate.Error)(nil); !errors.As(err, &e) || e.Hint != "start it with `modelgate serve`" {
		t.Errorf("hint = %q", e.Hint)
	}

	notReady := gateway.NewServer(gateway.Options{Loader: func(string) (gateway.Model, error) { return nil, nil }})
	ts = httptest.NewServer(notReady.Handler())
	defer ts.Close()
	err = gateway.NewDeployer(ts.URL, nil).CheckTarget(t.Context(), "iris")
	wantCode(t, err, modelgate.EUNAVAILABLE, "is not ready")
}

func TestDeployer_DeployStaging_Timeout(t *testing.T) {
	// A gateway that accepts the deployment but never serves it.
	mux := http.NewServeMux()
	mux.HandleFunc("PUT /admin/models/iris/staging", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{}`))
	})
	ts := httptest.NewServer(mux)
	defer ts.Close()
	d := gateway.NewDeployer(ts.URL, ts.Client())
	d.PollInterval = time.Millisecond
	_, err := d.DeployStaging(t.Context(), deployment("2"), 20*time.Millisecond)
	wantCode(t, err, modelgate.EPRECONDITION, `staging did not serve model "iris" version 2 within 20ms`)

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := d.DeployStaging(ctx, deployment("2"), time.Second); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v, want context.Canceled", err)
	}
}
