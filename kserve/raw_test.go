package kserve_test

import (
	"context"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/kserve"
	"github.com/modelgate/modelgate/kserve/kservetest"
)

// rawOptions are testOptions in raw mode, routed through a Gateway no test
// runs (kservetest.Gateway writes the route's status instead).
func rawOptions() kserve.Options {
	o := testOptions()
	o.DeploymentMode = kserve.ModeRaw
	o.Route = kserve.Route{Gateway: "gateway-system/public", Hostnames: []string{"models.example.com"}}
	return o
}

// rawGrant reports whether deploy/rbac.yaml grants resource/verb for raw
// mode only.
func rawGrant(resource, verb string) bool {
	switch resource {
	case "httproutes", "services", "deployments":
		return true
	case "inferenceservices":
		return verb == "delete"
	}
	return false
}

func TestOptionsValidate_Raw(t *testing.T) {
	base := rawOptions()
	for _, c := range []struct {
		name string
		edit func(*kserve.Options)
		want string // "" is valid
	}{
		{"valid", func(o *kserve.Options) {}, ""},
		{"unknown mode", func(o *kserve.Options) { o.DeploymentMode = "standard" }, "platform.deployment_mode"},
		{"route without raw", func(o *kserve.Options) { o.DeploymentMode = "" }, "platform.route: only used with platform.deployment_mode raw"},
		{"no gateway", func(o *kserve.Options) { o.Route.Gateway = "" }, "platform.route.gateway"},
		{"gateway without namespace", func(o *kserve.Options) { o.Route.Gateway = "public" }, "platform.route.gateway"},
		{"unknown kind", func(o *kserve.Options) { o.Route.Kind = "ingress" }, "platform.route.kind"},
		{"virtualservice", func(o *kserve.Options) { o.Route.Kind = "virtualservice" }, ""},
		{"virtualservice without hosts", func(o *kserve.Options) { o.Route.Kind, o.Route.Hostnames = "virtualservice", nil }, "platform.route.hostnames: required for kind virtualservice"},
		{"bad name", func(o *kserve.Options) { o.Route.Name = "{name}_route" }, "platform.route.name"},
		{"bad hostname", func(o *kserve.Options) { o.Route.Hostnames = []string{"http://x"} }, "platform.route.hostnames[0]"},
		{"bad url", func(o *kserve.Options) { o.Route.URL = "models.example.com" }, "platform.route.url"},
		{"knative's virtual service", func(o *kserve.Options) { o.VirtualService = "{name}-predictor-ingress" }, "platform.virtual_service"},
		{"gitops", func(o *kserve.Options) { o.GitOpsDir = "/tmp/x" }, "platform.gitops_dir"},
	} {
		t.Run(c.name, func(t *testing.T) {
			o := base
			c.edit(&o)
			err := o.Validate()
			if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
				t.Errorf("Validate = %v, want %q", err, c.want)
			}
		})
	}
}

func TestRender_RawAnnotation(t *testing.T) {
	for mode, want := range map[string]string{"": "Knative", kserve.ModeServerless: "Knative", kserve.ModeRaw: "RawDeployment"} {
		o := rawOptions()
		o.DeploymentMode = mode
		obj, err := o.Render(dep("m", "1"), "mlops", nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := obj.GetAnnotations()["serving.kserve.io/deploymentMode"]; got != want {
			t.Errorf("mode %q: deploymentMode annotation %q, want %q", mode, got, want)
		}
	}
	if got := rawOptions().RouteName("Demand Forecast"); got != "demand-forecast-modelgate" {
		t.Errorf("RouteName = %q", got)
	}
}

// The real controller's cluster with the gateway stand-in, started once.
var rawGateway sync.Once

// mustRawDeployer returns a raw-mode Deployer (as mlops/modelgate, with
// deploy/rbac.yaml's permissions) on KServe's real controller, with
// kservetest.Gateway writing HTTPRoute status.
func mustRawDeployer(t *testing.T) (*kserve.Deployer, *kservetest.Cluster) {
	t.Helper()
	c := mustCluster(t)
	rawGateway.Do(func() { go kservetest.NewGateway(c.Dyn).Run(context.Background()) })
	return deployerOn(t, c, rawOptions()), c
}

// route returns the route's backend weights by Service name, and fails t
// unless the gateway stand-in accepted its current generation.
func routeBackends(t *testing.T, c *kservetest.Cluster, isvc string) map[string]int64 {
	t.Helper()
	obj, err := c.Dyn.Resource(kserve.HTTPRouteGVR).Namespace("mlops").Get(context.Background(), isvc+"-modelgate", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	rules, _, _ := unstructured.NestedSlice(obj.Object, "spec", "rules")
	refs, _, _ := unstructured.NestedSlice(rules[0].(map[string]any), "backendRefs")
	for _, r := range refs {
		b := r.(map[string]any)
		got[b["name"].(string)] = b["weight"].(int64)
		if p := b["port"].(int64); p != kserve.PredictorPort {
			t.Errorf("backend %s port %d", b["name"], p)
		}
	}
	return got
}

// wantLogsByRevision checks that PredictorLogs groups the pods (the
// kubelet stand-in's, one per replica) by the revisions Revisions names,
// each with its version.
func wantLogsByRevision(t *testing.T, d *kserve.Deployer, m string, want map[string]string) {
	t.Helper()
	d.Logs = func(ctx context.Context, ns, pod, container string, tail int64) (io.ReadCloser, error) {
		return io.NopCloser(strings.NewReader("INFO loaded\n")), nil
	}
	defer func() { d.Logs = nil }()
	logs, err := d.PredictorLogs(context.Background(), m)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, l := range logs {
		got[l.Revision] = l.Version
		if len(l.Pods) == 0 || l.Lines != 1 {
			t.Errorf("revision %s: pods %v, %d lines", l.Revision, l.Pods, l.Lines)
		}
	}
	if len(got) != len(want) || got[m+"-predictor"] != want[m+"-predictor"] || got[m+"-canary-predictor"] != want[m+"-canary-predictor"] {
		t.Errorf("PredictorLogs by revision %v, want %v", got, want)
	}
}

func canaryGone(t *testing.T, c *kservetest.Cluster, isvc string) {
	t.Helper()
	obj, err := c.Dyn.Resource(kservetest.ISVC).Namespace("mlops").Get(context.Background(), kserve.CanaryName(isvc), metav1.GetOptions{})
	if err == nil && obj.GetDeletionTimestamp() == nil {
		t.Errorf("the canary InferenceService %s still exists", obj.GetName())
	}
}

func wantBackends(t *testing.T, c *kservetest.Cluster, isvc string, want map[string]int64) {
	t.Helper()
	got := routeBackends(t, c, isvc)
	if len(got) != len(want) {
		t.Fatalf("route backends %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("route backends %v, want %v", got, want)
		}
	}
}

// TestRaw_PromoteAndRollback_RealKServe: in raw mode, on KServe's real
// controller, a canary is a second InferenceService behind modelgate's
// route; promotion and rollback each end with one InferenceService at
// 100% with the right spec.
func TestRaw_PromoteAndRollback_RealKServe(t *testing.T) {
	d, c := mustRawDeployer(t)
	ctx := context.Background()
	const m = "raw-forecast"
	if err := d.CheckTarget(ctx, m); err != nil {
		t.Fatal(err)
	}
	if _, err := d.DeployStaging(ctx, dep(m, "2"), 30*time.Second); err != nil {
		t.Fatal(err)
	}
	staged := getISVCIn(t, c, "mlops-staging", m)
	if mode, _, _ := unstructured.NestedString(staged.Object, "status", "deploymentMode"); mode != "Standard" {
		t.Errorf("staging status.deploymentMode %q, want Standard (KServe's name for RawDeployment)", mode)
	}

	if err := d.SetStable(ctx, dep(m, "1")); err != nil {
		t.Fatal(err)
	}
	mustTraffic(t, d, m, modelgate.TrafficSplit{Stable: "1"})
	wantBackends(t, c, m, map[string]int64{m + "-predictor": 100})

	if err := d.StartCanary(ctx, dep(m, "2"), 10); err != nil {
		t.Fatal(err)
	}
	mustTraffic(t, d, m, modelgate.TrafficSplit{Stable: "1", Canary: "2", CanaryPercent: 10})
	wantBackends(t, c, m, map[string]int64{m + "-predictor": 90, m + "-canary-predictor": 10})
	revs, err := d.Revisions(ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	if revs.StableRevision != m+"-predictor" || revs.StableVersion != "1" || revs.CanaryRevision != m+"-canary-predictor" || revs.CanaryVersion != "2" || revs.CanaryPercent != 10 || revs.Since.IsZero() {
		t.Errorf("Revisions = %+v", revs)
	}
	wantLogsByRevision(t, d, m, map[string]string{m + "-predictor": "1", m + "-canary-predictor": "2"})

	if err := d.Promote(ctx, m, "2"); err != nil {
		t.Fatal(err)
	}
	mustTraffic(t, d, m, modelgate.TrafficSplit{Stable: "2"})
	wantBackends(t, c, m, map[string]int64{m + "-predictor": 100})
	canaryGone(t, c, m)
	if got, want := storageURI(getISVCIn(t, c, "mlops", m)), "s3://mlflow/artifacts/7/run2/artifacts/model"; got != want {
		t.Errorf("after Promote storageUri = %q, want %q", got, want)
	}

	if err := d.StartCanary(ctx, dep(m, "3"), 20); err != nil {
		t.Fatal(err)
	}
	mustTraffic(t, d, m, modelgate.TrafficSplit{Stable: "2", Canary: "3", CanaryPercent: 20})
	if err := d.Rollback(ctx, dep(m, "2")); err != nil {
		t.Fatal(err)
	}
	mustTraffic(t, d, m, modelgate.TrafficSplit{Stable: "2"})
	wantBackends(t, c, m, map[string]int64{m + "-predictor": 100})
	canaryGone(t, c, m)
	if got, want := storageURI(getISVCIn(t, c, "mlops", m)), "s3://mlflow/artifacts/7/run2/artifacts/model"; got != want {
		t.Errorf("after Rollback storageUri = %q, want %q", got, want)
	}
	if err := d.Rollback(ctx, dep(m, "2")); err != nil {
		t.Errorf("a second Rollback = %v, want nothing to do", err)
	}
}

// TestRaw_CanaryNeverReady_RealKServe: a candidate whose pods never become
// available takes no traffic; StartCanary fails (EPRECONDITION) and the
// rollback deletes it.
func TestRaw_CanaryNeverReady_RealKServe(t *testing.T) {
	d, c := mustRawDeployer(t)
	ctx := context.Background()
	const m = "raw-never"
	if err := d.SetStable(ctx, dep(m, "1")); err != nil {
		t.Fatal(err)
	}
	c.Real.Kubelet.Hold("raw-never-bad")
	bad := dep(m, "raw-never-bad")
	bad.Source = "mlflow-artifacts:/7/bad/artifacts/model"
	o := rawOptions()
	o.CanaryTimeout = 5 * time.Second
	short := deployerOn(t, c, o)
	err := short.StartCanary(ctx, bad, 10)
	if modelgate.ErrorCode(err) != modelgate.EPRECONDITION {
		t.Fatalf("StartCanary of a candidate never available = %v, want EPRECONDITION", err)
	}
	wantBackends(t, c, m, map[string]int64{m + "-predictor": 100})
	mustTraffic(t, d, m, modelgate.TrafficSplit{Stable: "1", Canary: "raw-never-bad", CanaryPercent: 0})
	if err := d.Rollback(ctx, dep(m, "1")); err != nil {
		t.Fatal(err)
	}
	mustTraffic(t, d, m, modelgate.TrafficSplit{Stable: "1"})
	canaryGone(t, c, m)
}

// TestRaw_CrashMidPromote_RealKServe: a promotion interrupted after the
// candidate's spec went to the stable InferenceService (every request on
// the canary meanwhile) is not mistaken for a finished one, and both a
// rollback and a re-run of Promote converge from there.
func TestRaw_CrashMidPromote_RealKServe(t *testing.T) {
	d, c := mustRawDeployer(t)
	ctx := context.Background()
	for _, finish := range []string{"rollback", "rerun"} {
		t.Run(finish, func(t *testing.T) {
			m := "raw-crash-" + finish
			if err := d.SetStable(ctx, dep(m, "1")); err != nil {
				t.Fatal(err)
			}
			if err := d.StartCanary(ctx, dep(m, "2"), 10); err != nil {
				t.Fatal(err)
			}
			crashWhenApplied(t, c, d, m, "s3://mlflow/artifacts/7/run2/artifacts/model")
			got, err := d.Traffic(ctx, m)
			if err != nil {
				t.Fatal(err)
			}
			if got == (modelgate.TrafficSplit{Stable: "2"}) || got == (modelgate.TrafficSplit{Stable: "1"}) {
				t.Fatalf("traffic after the crash = %+v, which reads as a finished step", got)
			}
			wantBackends(t, c, m, map[string]int64{m + "-canary-predictor": 100})
			want := "1"
			if finish == "rollback" {
				err = d.Rollback(ctx, dep(m, "1"))
			} else {
				want, err = "2", d.Promote(ctx, m, "2")
			}
			if err != nil {
				t.Fatal(err)
			}
			mustTraffic(t, d, m, modelgate.TrafficSplit{Stable: want})
			wantBackends(t, c, m, map[string]int64{m + "-predictor": 100})
			canaryGone(t, c, m)
			if got, wantURI := storageURI(getISVCIn(t, c, "mlops", m)), "s3://mlflow/artifacts/7/run"+want+"/artifacts/model"; got != wantURI {
				t.Errorf("storageUri = %q, want %q", got, wantURI)
			}
		})
	}
}

// crashWhenApplied runs Promote(m, "2") and cancels it, as a crash would,
// as soon as the stable InferenceService has the candidate's storageUri.
func crashWhenApplied(t *testing.T, c *kservetest.Cluster, d *kserve.Deployer, m, uri string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Promote(ctx, m, "2") }()
	for {
		select {
		case err := <-done:
			cancel()
			t.Fatalf("Promote ended before the crash: %v", err)
		case <-time.After(10 * time.Millisecond):
		}
		obj, err := c.Dyn.Resource(kservetest.ISVC).Namespace("mlops").Get(context.Background(), m, metav1.GetOptions{})
		if err == nil && storageURI(obj) == uri {
			cancel()
			<-done
			return
		}
	}
}

// TestRaw_VirtualService_RealKServe: with platform.route.kind
// virtualservice the same promotion and rollback run through an Istio
// VirtualService (as cluster-admin: deploy/rbac.yaml does not grant
// VirtualServices).
func TestRaw_VirtualService_RealKServe(t *testing.T) {
	_, c := mustRawDeployer(t)
	o := rawOptions()
	o.Route.Kind = kserve.RouteVirtualService
	d, err := kserve.New(c.Admin, o)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	const m = "raw-vs"
	if err := d.CheckTarget(ctx, m); err != nil {
		t.Fatal(err)
	}
	weightsOf := func() map[string]int64 {
		vs, err := c.Dyn.Resource(vsGVR).Namespace("mlops").Get(ctx, m+"-modelgate", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]int64{}
		https, _, _ := unstructured.NestedSlice(vs.Object, "spec", "http")
		routes, _, _ := unstructured.NestedSlice(https[0].(map[string]any), "route")
		for _, r := range routes {
			host, _, _ := unstructured.NestedString(r.(map[string]any), "destination", "host")
			got[host] = r.(map[string]any)["weight"].(int64)
		}
		return got
	}
	if err := d.SetStable(ctx, dep(m, "1")); err != nil {
		t.Fatal(err)
	}
	if err := d.StartCanary(ctx, dep(m, "2"), 30); err != nil {
		t.Fatal(err)
	}
	mustTraffic(t, d, m, modelgate.TrafficSplit{Stable: "1", Canary: "2", CanaryPercent: 30})
	if got := weightsOf(); got["raw-vs-predictor.mlops.svc.cluster.local"] != 70 || got["raw-vs-canary-predictor.mlops.svc.cluster.local"] != 30 {
		t.Errorf("VirtualService weights %v", got)
	}
	if err := d.Promote(ctx, m, "2"); err != nil {
		t.Fatal(err)
	}
	mustTraffic(t, d, m, modelgate.TrafficSplit{Stable: "2"})
	canaryGone(t, c, m)
	if err := d.StartCanary(ctx, dep(m, "3"), 10); err != nil {
		t.Fatal(err)
	}
	if err := d.Rollback(ctx, dep(m, "2")); err != nil {
		t.Fatal(err)
	}
	mustTraffic(t, d, m, modelgate.TrafficSplit{Stable: "2"})
	if got := weightsOf(); len(got) != 1 || got["raw-vs-predictor.mlops.svc.cluster.local"] != 100 {
		t.Errorf("VirtualService weights after rollback %v", got)
	}
	canaryGone(t, c, m)
}

// TestRaw_RefusesKnativeService_RealKServe: KServe cannot change an
// InferenceService's mode, so raw mode refuses one KServe runs in Knative
// mode, and names the key to change.
func TestRaw_RefusesKnativeService_RealKServe(t *testing.T) {
	raw, c := mustRawDeployer(t)
	ctx := context.Background()
	const m = "raw-was-knative"
	if err := deployerOn(t, c, testOptions()).SetStable(ctx, dep(m, "1")); err != nil {
		t.Fatal(err)
	}
	err := raw.StartCanary(ctx, dep(m, "2"), 10)
	if modelgate.ErrorCode(err) != modelgate.EPRECONDITION || !strings.Contains(err.Error(), "runs in Knative mode, but platform.deployment_mode is raw") {
		t.Fatalf("StartCanary in raw mode on a Knative-mode InferenceService = %v", err)
	}
	if _, err := c.Dyn.Resource(kservetest.ISVC).Namespace("mlops").Get(ctx, kserve.CanaryName(m), metav1.GetOptions{}); err == nil {
		t.Error("a canary InferenceService was created")
	}
}

// TestRaw_CrashMidStartCanary_RealKServe: a StartCanary interrupted once the
// candidate exists, before the route sends it anything, reads as a canary
// at 0% (not started), and a rollback or a re-run converges from there.
func TestRaw_CrashMidStartCanary_RealKServe(t *testing.T) {
	d, c := mustRawDeployer(t)
	ctx := context.Background()
	for _, finish := range []string{"rollback", "rerun"} {
		t.Run(finish, func(t *testing.T) {
			m := "raw-crash-start-" + finish
			if err := d.SetStable(ctx, dep(m, "1")); err != nil {
				t.Fatal(err)
			}
			crashCtx, cancel := context.WithCancel(ctx)
			done := make(chan error, 1)
			go func() { done <- d.StartCanary(crashCtx, dep(m, "2"), 10) }()
			for {
				if _, err := c.Dyn.Resource(kservetest.ISVC).Namespace("mlops").Get(ctx, kserve.CanaryName(m), metav1.GetOptions{}); err == nil {
					break
				}
				time.Sleep(5 * time.Millisecond)
			}
			cancel()
			if err := <-done; err == nil {
				// The kubelet stand-in's rollout lasts rolloutPolls polls,
				// far longer than the cancel takes.
				t.Fatal("StartCanary finished before the crash")
			}
			mustTraffic(t, d, m, modelgate.TrafficSplit{Stable: "1", Canary: "2", CanaryPercent: 0})
			wantBackends(t, c, m, map[string]int64{m + "-predictor": 100})
			if finish == "rollback" {
				if err := d.Rollback(ctx, dep(m, "1")); err != nil {
					t.Fatal(err)
				}
				mustTraffic(t, d, m, modelgate.TrafficSplit{Stable: "1"})
				canaryGone(t, c, m)
				return
			}
			if err := d.StartCanary(ctx, dep(m, "2"), 10); err != nil {
				t.Fatal(err)
			}
			mustTraffic(t, d, m, modelgate.TrafficSplit{Stable: "1", Canary: "2", CanaryPercent: 10})
		})
	}
}
