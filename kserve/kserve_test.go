package kserve_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/kserve"
	"github.com/modelgate/modelgate/kserve/kservetest"
	"github.com/modelgate/modelgate/leader"
)

func testOptions() kserve.Options {
	o := kserve.DefaultOptions()
	o.ModelFormat = "sklearn"
	o.Runtime = "kserve-sklearnserver"
	o.ProtocolVersion = "v2"
	o.StorageURI = []kserve.StorageRule{{From: "mlflow-artifacts:/", To: "s3://mlflow/artifacts/"}}
	o.Resources = kserve.Resources{Requests: map[string]string{"cpu": "100m", "memory": "256Mi"}, Limits: map[string]string{"memory": "512Mi"}}
	o.ServiceAccount = "kserve-sa"
	o.Logger = kserve.Logger{URL: "http://message-dumper.mlops.svc.cluster.local", Mode: "all", MetadataHeaders: []string{"X-Request-Id"}}
	o.Labels = map[string]string{"team": "forecasting"}
	o.Annotations = map[string]string{"example.com/owner": "ml-platform"}
	o.PollInterval = 100 * time.Millisecond
	o.CanaryTimeout = 20 * time.Second
	return o
}

func dep(model, version string) modelgate.Deployment {
	return modelgate.Deployment{Model: model, Version: version, Source: "mlflow-artifacts:/7/run" + version + "/artifacts/model", Digest: strings.Repeat(version, 64)[:64]}
}

// mustDeployer returns a Deployer on the shared cluster acting
// as the mlops/modelgate service account, which holds exactly
// deploy/rbac.yaml's permissions.
func mustDeployer(t *testing.T, o kserve.Options) *kserve.Deployer {
	t.Helper()
	return deployerOn(t, mustCluster(t), o)
}

// deployerOn returns a Deployer on c acting as mlops/modelgate.
func deployerOn(t *testing.T, c *kservetest.Cluster, o kserve.Options) *kserve.Deployer {
	t.Helper()
	d, err := kserve.New(c.AsServiceAccount("mlops", "modelgate"), o)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func mustTraffic(t *testing.T, d *kserve.Deployer, model string, want modelgate.TrafficSplit) {
	t.Helper()
	got, err := d.Traffic(context.Background(), model)
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Fatalf("traffic = %+v, want %+v", got, want)
	}
}

func getISVC(t *testing.T, ns, name string) *unstructured.Unstructured {
	t.Helper()
	return getISVCIn(t, cluster.c, ns, name)
}

func getISVCIn(t *testing.T, c *kservetest.Cluster, ns, name string) *unstructured.Unstructured {
	t.Helper()
	obj, err := c.Dyn.Resource(kservetest.ISVC).Namespace(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return obj
}

func storageURI(obj *unstructured.Unstructured) string {
	s, _, _ := unstructured.NestedString(obj.Object, "spec", "predictor", "model", "storageUri")
	return s
}

// TestPromotionAndRollback drives the engine's sequence of calls for a
// promoted version and then a rolled-back one, as the RBAC-limited service
// account, against the real API server and CRD.
func TestPromotionAndRollback(t *testing.T) {
	promotionAndRollback(t, mustCluster(t))
}

// TestPromotionAndRollback_Knative: the same with Knative Serving's own
// controllers creating the revisions and routing traffic.
func TestPromotionAndRollback_Knative(t *testing.T) {
	promotionAndRollback(t, mustKnativeCluster(t))
}

func promotionAndRollback(t *testing.T, c *kservetest.Cluster) {
	d := deployerOn(t, c, testOptions())
	ctx := context.Background()
	if err := d.CheckTarget(ctx, "demand-forecast"); err != nil {
		t.Fatal(err)
	}

	ep, err := d.DeployStaging(ctx, dep("demand-forecast", "2"), 20*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if want := (modelgate.Endpoint{URL: "http://demand-forecast.mlops-staging.example.com", Name: "demand-forecast"}); ep != want {
		t.Errorf("staging endpoint = %+v, want %+v", ep, want)
	}
	staged := getISVCIn(t, c, "mlops-staging", "demand-forecast")
	if got, want := storageURI(staged), "s3://mlflow/artifacts/7/run2/artifacts/model"; got != want {
		t.Errorf("storageUri = %q, want %q", got, want)
	}
	assertManagedBy(t, staged, kserve.FieldManager)

	mustTraffic(t, d, "demand-forecast", modelgate.TrafficSplit{})
	if err := d.SetStable(ctx, dep("demand-forecast", "1")); err != nil {
		t.Fatal(err)
	}
	mustTraffic(t, d, "demand-forecast", modelgate.TrafficSplit{Stable: "1"})

	// Canary 2 at 10%, twice (idempotent), then promoted.
	for range 2 {
		if err := d.StartCanary(ctx, dep("demand-forecast", "2"), 10); err != nil {
			t.Fatal(err)
		}
	}
	mustTraffic(t, d, "demand-forecast", modelgate.TrafficSplit{Stable: "1", Canary: "2", CanaryPercent: 10})
	revs, err := d.Revisions(ctx, "demand-forecast")
	if err != nil {
		t.Fatal(err)
	}
	if revs.StableRevision != "demand-forecast-predictor-00001" || revs.CanaryRevision != "demand-forecast-predictor-00002" || revs.CanaryVersion != "2" || revs.Since.IsZero() {
		t.Errorf("revisions = %+v", revs)
	}
	for range 2 {
		if err := d.Promote(ctx, "demand-forecast", "2"); err != nil {
			t.Fatal(err)
		}
	}
	mustTraffic(t, d, "demand-forecast", modelgate.TrafficSplit{Stable: "2"})
	if _, has, _ := unstructured.NestedInt64(getISVCIn(t, c, "mlops", "demand-forecast").Object, "spec", "predictor", "canaryTrafficPercent"); has {
		t.Error("canaryTrafficPercent still set after Promote")
	}
	// The revision judged in the canary is the one promoted: nothing that
	// changes between steps reaches the revision template (KServe copies the
	// InferenceService's annotations and labels into it).
	if promoted, err := d.Revisions(ctx, "demand-forecast"); err != nil || promoted.StableRevision != revs.CanaryRevision {
		t.Errorf("after Promote the rolled-out revision is %q, want the canary's %q (%v)", promoted.StableRevision, revs.CanaryRevision, err)
	}

	// Canary 3, judged worse: rolled back to 2.
	if err := d.StartCanary(ctx, dep("demand-forecast", "3"), 10); err != nil {
		t.Fatal(err)
	}
	mustTraffic(t, d, "demand-forecast", modelgate.TrafficSplit{Stable: "2", Canary: "3", CanaryPercent: 10})
	for range 2 {
		if err := d.Rollback(ctx, dep("demand-forecast", "2")); err != nil {
			t.Fatal(err)
		}
	}
	mustTraffic(t, d, "demand-forecast", modelgate.TrafficSplit{Stable: "2"})
	prod := getISVCIn(t, c, "mlops", "demand-forecast")
	if got, want := storageURI(prod), "s3://mlflow/artifacts/7/run2/artifacts/model"; got != want {
		t.Errorf("after rollback storageUri = %q, want version 2's %q", got, want)
	}
	if _, has, _ := unstructured.NestedInt64(prod.Object, "spec", "predictor", "canaryTrafficPercent"); has {
		t.Error("canaryTrafficPercent still set after Rollback")
	}
	pe, err := d.Production(ctx, "demand-forecast")
	if err != nil || pe.URL != "http://demand-forecast.mlops.example.com" {
		t.Errorf("Production = %+v, %v", pe, err)
	}

	if c.Real != nil && c.Real.Ksvc != nil {
		return // the Knative Service stand-in creates no revision pods to read logs from
	}
	// pods/log through the real API server, as the RBAC-limited identity:
	// no kubelet runs the pods, so every log reads as empty.
	logs, err := d.PredictorLogs(ctx, "demand-forecast")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range logs {
		if len(l.ReadErrors) > 0 || l.Lines != 0 {
			t.Errorf("revision %s read through pods/log: %+v", l.Revision, l)
		}
	}

	// The predictor logs, per revision (a stub stands in for the kubelet).
	d.Logs = func(ctx context.Context, ns, pod, container string, tail int64) (io.ReadCloser, error) {
		body := "INFO started\nWARNING slow request\nERROR model failed\nINFO ok\n"
		return io.NopCloser(strings.NewReader(body)), nil
	}
	logs, err = modelgate.LogSource(d).RevisionLogs(ctx, "demand-forecast")
	if err != nil {
		t.Fatal(err)
	}
	if len(logs) < 3 {
		t.Fatalf("logs of %d revisions, want at least 3: %+v", len(logs), logs)
	}
	for _, l := range logs {
		if l.Errors != 1 || l.Warnings != 1 || len(l.Last) != 4 || l.Version == "" {
			t.Errorf("revision %s: %+v", l.Revision, l)
		}
	}
}

func assertManagedBy(t *testing.T, obj *unstructured.Unstructured, manager string) {
	t.Helper()
	for _, mf := range obj.GetManagedFields() {
		if mf.Manager == manager && mf.Operation == metav1.ManagedFieldsOperationApply {
			return
		}
	}
	t.Errorf("%s is not server-side applied by %q: %+v", obj.GetName(), manager, obj.GetManagedFields())
}

// TestCanaryNeverReady: a canary revision that never becomes ready fails
// StartCanary (not transient: the engine rolls back) and Rollback restores
// the previous version; the canary's revision is held unready by the
// Knative Service stand-in (Knative reports such a revision Unknown until
// its progress deadline).
func TestCanaryNeverReady(t *testing.T) {
	c := mustCluster(t)
	canaryNeverReady(t, c, c.Real.Ksvc.Hold, "RevisionMissing")
}

func canaryNeverReady(t *testing.T, c *kservetest.Cluster, fail func(version string), reason string) {
	o := testOptions()
	o.CanaryTimeout = 3 * time.Second
	d := deployerOn(t, c, o)
	ctx := context.Background()
	if err := d.SetStable(ctx, dep("broken-canary", "1")); err != nil {
		t.Fatal(err)
	}
	fail("9")
	err := d.StartCanary(ctx, dep("broken-canary", "9"), 10)
	if modelgate.ErrorCode(err) != modelgate.EPRECONDITION || !strings.Contains(err.Error(), "latestCreatedRevision != latestReadyRevision") || !strings.Contains(err.Error(), reason) {
		t.Fatalf("StartCanary = %v (%s), want EPRECONDITION naming the unready revision and the condition %s", err, modelgate.ErrorCode(err), reason)
	}
	// The spec asks for 9, which serves nothing: a pending canary at 0%, so
	// the engine's "rollback already done?" check calls Rollback.
	mustTraffic(t, d, "broken-canary", modelgate.TrafficSplit{Stable: "1", Canary: "9"})
	if err := d.Rollback(ctx, dep("broken-canary", "1")); err != nil {
		t.Fatal(err)
	}
	mustTraffic(t, d, "broken-canary", modelgate.TrafficSplit{Stable: "1"})
	if got := storageURI(getISVCIn(t, c, "mlops", "broken-canary")); !strings.Contains(got, "run1") {
		t.Errorf("after rollback storageUri = %q, want version 1's", got)
	}
}

// TestStagingTimeoutReportsConditions: staging that never becomes ready
// times out with the reason KServe copies from Knative's conditions.
func TestStagingTimeoutReportsConditions(t *testing.T) {
	c := mustCluster(t)
	d := deployerOn(t, c, testOptions())
	c.Real.Ksvc.Hold("8")
	_, err := d.DeployStaging(context.Background(), dep("never-ready", "8"), 3*time.Second)
	if modelgate.ErrorCode(err) != modelgate.EPRECONDITION || !strings.Contains(err.Error(), "RevisionMissing") {
		t.Fatalf("DeployStaging = %v, want EPRECONDITION with the condition's reason", err)
	}
}

// TestBadInputsChangeNothing: each bad input is a clear error and leaves no
// InferenceService behind.
func TestBadInputsChangeNothing(t *testing.T) {
	mustCluster(t)
	ctx := context.Background()
	cases := []struct {
		name     string
		opts     func(*kserve.Options)
		identity string // service account in mlops; "" is modelgate
		code     string
		message  string
	}{
		{"missing namespace", func(o *kserve.Options) { o.StagingNamespace = "absent-staging" }, "", modelgate.EUNAUTHORIZED, "get inferenceservices.serving.kserve.io in namespace absent-staging"},
		{"missing service account", func(o *kserve.Options) { o.StagingNamespace, o.ProductionNamespace = "nosa-staging", "nosa" }, "root", modelgate.EPRECONDITION, "service account kserve-sa does not exist in namespace nosa-staging"},
		{"namespace absent (admin)", func(o *kserve.Options) { o.StagingNamespace = "absent-staging" }, "root", modelgate.EPRECONDITION, "namespace absent-staging does not exist"},
		{"forbidden", nil, "nobody", modelgate.EUNAUTHORIZED, "patch inferenceservices.serving.kserve.io in namespace mlops-staging"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := testOptions()
			if c.opts != nil {
				c.opts(&o)
			}
			cfg := cluster.c.AsServiceAccount("mlops", "modelgate")
			switch c.identity {
			case "root":
				cfg = cluster.c.Admin
			case "":
			default:
				cfg = cluster.c.AsServiceAccount("mlops", c.identity)
			}
			d, err := kserve.New(cfg, o)
			if err != nil {
				t.Fatal(err)
			}
			err = d.CheckTarget(ctx, "bad-input")
			if modelgate.ErrorCode(err) != c.code || !strings.Contains(err.Error(), c.message) {
				t.Fatalf("CheckTarget = %v (%s), want %s containing %q", err, modelgate.ErrorCode(err), c.code, c.message)
			}
		})
	}

	t.Run("forbidden apply", func(t *testing.T) {
		d, err := kserve.New(cluster.c.AsServiceAccount("mlops", "nobody"), testOptions())
		if err != nil {
			t.Fatal(err)
		}
		_, err = d.DeployStaging(ctx, dep("bad-input", "1"), time.Second)
		if modelgate.ErrorCode(err) != modelgate.EUNAUTHORIZED || !strings.Contains(err.Error(), `cannot patch resource "inferenceservices"`) {
			t.Fatalf("DeployStaging = %v, want EUNAUTHORIZED naming verb and resource", err)
		}
	})

	t.Run("bad quantity", func(t *testing.T) {
		// Refused before the cluster: KServe's defaulting webhook would
		// refuse it without naming the field.
		o := testOptions()
		o.Resources = kserve.Resources{Requests: map[string]string{"cpu": "lots"}}
		_, err := kserve.New(mustCluster(t).Admin, o)
		if modelgate.ErrorCode(err) != modelgate.EINVALID || !strings.Contains(err.Error(), `platform.resources.requests.cpu: "lots" is not a Kubernetes quantity`) {
			t.Fatalf("New = %v, want EINVALID naming the key", err)
		}
	})

	t.Run("schema rejects", func(t *testing.T) {
		o := testOptions()
		o.Annotations = map[string]string{"not a key!": "x"}
		d := mustDeployer(t, o)
		_, err := d.DeployStaging(ctx, dep("bad-input", "1"), time.Second)
		if modelgate.ErrorCode(err) != modelgate.EINVALID || !strings.Contains(err.Error(), "metadata.annotations") {
			t.Fatalf("DeployStaging = %v, want EINVALID naming the field", err)
		}
	})

	t.Run("unmapped storage", func(t *testing.T) {
		d := mustDeployer(t, testOptions())
		bad := dep("bad-input", "1")
		bad.Source = "runs:/abc/model"
		_, err := d.DeployStaging(ctx, bad, time.Second)
		if modelgate.ErrorCode(err) != modelgate.EINVALID || !strings.Contains(err.Error(), "storage_uri") {
			t.Fatalf("DeployStaging = %v, want EINVALID about storage_uri", err)
		}
	})

	for _, ns := range []string{"mlops-staging", "mlops"} {
		if _, err := cluster.c.Dyn.Resource(kservetest.ISVC).Namespace(ns).Get(ctx, "bad-input", metav1.GetOptions{}); err == nil {
			t.Errorf("an InferenceService bad-input exists in %s after the failures", ns)
		}
	}
}

// TestRBACMinimal: removing any one verb from deploy/rbac.yaml makes
// CheckTarget (CheckRulePermissions for PrometheusRules) name exactly that
// permission (the grants only raw mode needs with
// platform.deployment_mode raw); and the Role's create is what lets
// server-side apply create a new InferenceService or PrometheusRule.
func TestRBACMinimal(t *testing.T) {
	mustCluster(t)
	ctx := context.Background()
	type grant struct{ kind, ns, resource, verb string }
	var grants []grant
	for _, o := range rbacManifest(t, nil) {
		if o.GetKind() != "Role" && o.GetKind() != "ClusterRole" {
			continue
		}
		rules, _, _ := unstructured.NestedSlice(o.Object, "rules")
		for _, r := range rules {
			rm := r.(map[string]any)
			for _, res := range rm["resources"].([]any) {
				for _, v := range rm["verbs"].([]any) {
					grants = append(grants, grant{o.GetKind(), o.GetNamespace(), res.(string), v.(string)})
				}
			}
		}
	}
	for i, g := range grants {
		sa := "minus-" + strings.ReplaceAll(strings.ReplaceAll(g.resource+"-"+g.verb+"-"+g.ns, "/", "-"), ".", "-")
		sa = strings.TrimSuffix(sa, "-")
		suffix := "-" + sa
		objs := rbacManifest(t, func(o *unstructured.Unstructured) bool {
			o.SetName(o.GetName() + suffix)
			switch o.GetKind() {
			case "RoleBinding", "ClusterRoleBinding":
				_ = unstructured.SetNestedField(o.Object, o.GetName(), "roleRef", "name")
				_ = unstructured.SetNestedSlice(o.Object, []any{map[string]any{"kind": "ServiceAccount", "name": sa, "namespace": "mlops"}}, "subjects")
			case "Role", "ClusterRole":
				if o.GetKind() == g.kind && o.GetNamespace() == g.ns {
					rules, _, _ := unstructured.NestedSlice(o.Object, "rules")
					var kept []any
					for _, r := range rules {
						rm := r.(map[string]any)
						if rm["resources"].([]any)[0] == g.resource {
							var verbs []any
							for _, v := range rm["verbs"].([]any) {
								if v != g.verb {
									verbs = append(verbs, v)
								}
							}
							if len(verbs) == 0 {
								continue
							}
							rm["verbs"] = verbs
						}
						kept = append(kept, rm)
					}
					_ = unstructured.SetNestedSlice(o.Object, kept, "rules")
				}
			}
			return true
		})
		if err := cluster.c.Apply(objs); err != nil {
			t.Fatal(err)
		}
		opts := testOptions()
		if rawGrant(g.resource, g.verb) {
			opts = rawOptions() // raw mode needs these besides
		}
		d, err := kserve.New(cluster.c.AsServiceAccount("mlops", sa), opts)
		if err != nil {
			t.Fatal(err)
		}
		check := d.CheckTarget
		if g.resource == "prometheusrules" {
			check = func(ctx context.Context, _ string) error { return d.CheckRulePermissions(ctx) }
		}
		if g.resource == "leases" {
			e, err := leader.New(cluster.c.AsServiceAccount("mlops", sa), "mlops", "modelgate-server", "rbac")
			if err != nil {
				t.Fatal(err)
			}
			check = func(ctx context.Context, _ string) error { return e.Check(ctx) }
		}
		where := ""
		if g.ns != "" {
			where = " in namespace " + g.ns
		} else {
			where = " (cluster-wide)"
		}
		res := g.resource
		switch res {
		case "inferenceservices":
			res += ".serving.kserve.io"
		case "prometheusrules":
			res += ".monitoring.coreos.com"
		case "leases":
			res += ".coordination.k8s.io"
		case "httproutes":
			res += ".gateway.networking.k8s.io"
		case "deployments":
			res += ".apps"
		}
		want := g.verb + " " + res + where
		// The API server's authorizer reads roles from a cache: the role
		// applied just now can take a moment to replace the last one.
		for wait := time.Now().Add(5 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			err = check(ctx, "rbac")
			if modelgate.ErrorCode(err) == modelgate.EUNAUTHORIZED && strings.Contains(err.Error(), want) || time.Now().After(wait) {
				break
			}
		}
		if modelgate.ErrorCode(err) != modelgate.EUNAUTHORIZED || !strings.Contains(err.Error(), want) {
			t.Errorf("grant %d without %q: CheckTarget = %v, want EUNAUTHORIZED naming %q", i, want, err, want)
		}
		if g.verb == "create" && g.ns == "mlops-staging" {
			// The real API server needs create for an apply that creates.
			_, err := d.DeployStaging(ctx, dep("rbac-create", "1"), time.Second)
			if modelgate.ErrorCode(err) != modelgate.EUNAUTHORIZED || !strings.Contains(err.Error(), "cannot create resource") {
				t.Errorf("apply without create = %v, want forbidden create", err)
			}
		}
		if g.verb == "create" && g.resource == "prometheusrules" {
			err := d.ApplyPrometheusRule(ctx, mustRule(t, testOptions(), "rbac-create", "1"))
			if modelgate.ErrorCode(err) != modelgate.EUNAUTHORIZED || !strings.Contains(err.Error(), "cannot create resource") {
				t.Errorf("PrometheusRule apply without create = %v, want forbidden create", err)
			}
		}
	}
}

// TestGitOps: manifests are written where the playbook names them, are
// exactly what apply mode renders, are accepted by the real CRD schema when
// a GitOps tool applies them, and the Deployer waits for the cluster to
// reach them.
func TestGitOps(t *testing.T) {
	o := testOptions()
	o.GitOpsDir = t.TempDir()
	d := mustDeployer(t, o)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go argo(ctx, t, o.GitOpsDir)

	if _, err := d.DeployStaging(ctx, dep("gitops-model", "1"), 20*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := d.SetStable(ctx, dep("gitops-model", "1")); err != nil {
		t.Fatal(err)
	}
	if err := d.StartCanary(ctx, dep("gitops-model", "2"), 10); err != nil {
		t.Fatal(err)
	}
	mustTraffic(t, d, "gitops-model", modelgate.TrafficSplit{Stable: "1", Canary: "2", CanaryPercent: 10})
	for _, f := range []string{kserve.ManifestStaging, kserve.ManifestProduction, kserve.ManifestPrevious("1")} {
		if _, err := os.Stat(filepath.Join(o.GitOpsDir, f)); err != nil {
			t.Errorf("manifest %s: %v", f, err)
		}
	}

	// The production manifest is the object apply mode renders.
	pct := int64(10)
	want, err := o.Render(dep("gitops-model", "2"), "mlops", &pct)
	if err != nil {
		t.Fatal(err)
	}
	wantYAML, err := kserve.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	gotYAML, _ := os.ReadFile(filepath.Join(o.GitOpsDir, kserve.ManifestProduction))
	if diff := cmp.Diff(string(wantYAML), string(gotYAML)); diff != "" {
		t.Errorf("manifest differs from the rendered object (-rendered +written):\n%s", diff)
	}

	if err := d.Rollback(ctx, dep("gitops-model", "1")); err != nil {
		t.Fatal(err)
	}
	mustTraffic(t, d, "gitops-model", modelgate.TrafficSplit{Stable: "1"})
	kept, _ := os.ReadFile(filepath.Join(o.GitOpsDir, kserve.ManifestPrevious("1")))
	if !bytes.Contains(kept, []byte("run1")) {
		t.Errorf("the kept manifest for rollback is not version 1's:\n%s", kept)
	}
}

func readManifest(t *testing.T, path string) *unstructured.Unstructured {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := yaml.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return &unstructured.Unstructured{Object: m}
}

// argo plays a GitOps tool: it server-side applies the manifests under dir
// (as field manager "argocd", strict validation) whenever they change.
func argo(ctx context.Context, t *testing.T, dir string) {
	seen := map[string]string{}
	for ctx.Err() == nil {
		for _, f := range []string{kserve.ManifestMemory, kserve.ManifestStaging, kserve.ManifestProduction} {
			b, err := os.ReadFile(filepath.Join(dir, f))
			if err != nil || seen[f] == string(b) {
				continue
			}
			obj := readManifest(t, filepath.Join(dir, f))
			data, _ := obj.MarshalJSON()
			force := true
			gvr := kservetest.ISVC
			if f == kserve.ManifestMemory {
				gvr = schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}
			}
			_, err = cluster.c.Dyn.Resource(gvr).Namespace(obj.GetNamespace()).Patch(ctx, obj.GetName(), "application/apply-patch+yaml", data,
				metav1.PatchOptions{FieldManager: "argocd", Force: &force, FieldValidation: "Strict"})
			if err != nil {
				t.Errorf("argo apply %s: %v", f, err)
			}
			seen[f] = string(b)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestMemoryOfARecreatedService: an InferenceService deleted and re-created
// outside modelgate starts its revision names again at -00001; the memory
// of the old one must not name the new revisions' versions.
func TestMemoryOfARecreatedService(t *testing.T) {
	c := mustCluster(t)
	d := deployerOn(t, c, testOptions())
	ctx := context.Background()
	for _, v := range []string{"1", "2"} {
		if err := d.SetStable(ctx, dep("recreated", v)); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Dyn.Resource(kservetest.ISVC).Namespace("mlops").Delete(ctx, "recreated", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(100 * time.Millisecond) { // KServe's finalizer runs first
		if _, err := c.Dyn.Resource(kservetest.ISVC).Namespace("mlops").Get(ctx, "recreated", metav1.GetOptions{}); apierrors.IsNotFound(err) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the deleted InferenceService is still there after a minute")
		}
	}
	// The garbage collector would delete the Knative Service the
	// InferenceService owned; no kube-controller-manager runs here.
	if err := c.Dyn.Resource(kservetest.KnativeService).Namespace("mlops").Delete(ctx, "recreated-predictor", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	// Re-created by someone else (a GitOps tool, kubectl) at version 3.
	o := testOptions()
	obj, err := o.Render(dep("recreated", "3"), "mlops", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Dyn.Resource(kservetest.ISVC).Namespace("mlops").Create(ctx, obj, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.WaitISVC(ctx, "mlops", "recreated", time.Minute, func(o *unstructured.Unstructured) bool {
		rev, _, _ := unstructured.NestedString(o.Object, "status", "components", "predictor", "latestRolledoutRevision")
		return rev != ""
	}); err != nil {
		t.Fatal(err)
	}
	mustTraffic(t, d, "recreated", modelgate.TrafficSplit{Stable: "3"})
}
