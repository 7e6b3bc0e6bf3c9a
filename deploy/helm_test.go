package deploy

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	"helm.sh/helm/v3/pkg/lint"
	"helm.sh/helm/v3/pkg/lint/support"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/modelgate/modelgate/kserve/kservetest"
)

const chartDir = "helm/modelgate"

// adminOnly are the least values the chart renders with.
func adminOnly() map[string]any {
	return map[string]any{"adminToken": map[string]any{"value": "an-admin-token-of-some-length"}}
}

// render renders the chart as `helm install --dry-run` would and returns
// its objects (NOTES.txt left out).
func render(t *testing.T, release, namespace string, vals map[string]any) ([]*unstructured.Unstructured, error) {
	t.Helper()
	ch, err := loader.Load(chartDir)
	if err != nil {
		t.Fatal(err)
	}
	opts := chartutil.ReleaseOptions{Name: release, Namespace: namespace, Revision: 1, IsInstall: true}
	rv, err := chartutil.ToRenderValues(ch, vals, opts, chartutil.DefaultCapabilities)
	if err != nil {
		t.Fatal(err)
	}
	files, err := engine.Render(ch, rv)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	var objs []*unstructured.Unstructured
	for _, name := range names {
		if strings.HasSuffix(name, ".yaml") {
			objs = append(objs, splitYAML(t, files[name])...)
		}
	}
	return objs, nil
}

func mustRender(t *testing.T, release, namespace string, vals map[string]any) []*unstructured.Unstructured {
	t.Helper()
	objs, err := render(t, release, namespace, vals)
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

func find(objs []*unstructured.Unstructured, kind, name string) *unstructured.Unstructured {
	for _, o := range objs {
		if o.GetKind() == kind && o.GetName() == name {
			return o
		}
	}
	return nil
}

func TestChartLint(t *testing.T) {
	l := lint.All(chartDir, adminOnly(), "mlops", false)
	for _, m := range l.Messages {
		if m.Severity > support.InfoSev {
			t.Error(m)
		}
	}
}

// TestChartNeedsTokens: without any token the server would refuse every
// call, so the chart refuses to render, saying what to set.
func TestChartNeedsTokens(t *testing.T) {
	_, err := render(t, "modelgate", "mlops", nil)
	if err == nil || !strings.Contains(err.Error(), "no server tokens: set tokens.existingSecret") {
		t.Fatalf("render without tokens: %v, want the chart's refusal", err)
	}
	objs := mustRender(t, "modelgate", "mlops", map[string]any{"tokens": map[string]any{"existingSecret": "team-tokens"}})
	for _, o := range objs {
		if o.GetKind() == "Secret" {
			t.Errorf("the chart made Secret %s although the tokens' Secret is the user's", o.GetName())
		}
	}
}

// TestChartRBAC: the chart grants exactly what deploy/rbac.yaml grants.
func TestChartRBAC(t *testing.T) {
	want, err := kservetest.RBACManifest(nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []*unstructured.Unstructured
	for _, o := range mustRender(t, "modelgate", "mlops", adminOnly()) {
		if strings.HasPrefix(o.GetAPIVersion(), "rbac.authorization.k8s.io/") {
			got = append(got, o)
		}
	}
	if diff := cmp.Diff(rbacSummary(want), rbacSummary(got)); diff != "" {
		t.Errorf("the chart's RBAC against deploy/rbac.yaml (-rbac.yaml +chart):\n%s", diff)
	}
}

// rbacSummary is what RBAC objects grant, by kind, namespace and name.
func rbacSummary(objs []*unstructured.Unstructured) map[string]any {
	out := map[string]any{}
	for _, o := range objs {
		key := o.GetKind() + " " + o.GetNamespace() + "/" + o.GetName()
		out[key] = map[string]any{"rules": o.Object["rules"], "roleRef": o.Object["roleRef"], "subjects": o.Object["subjects"]}
	}
	return out
}

// TestChartConfig: the modelgate.yaml the chart makes is one modelgate
// loads, with the server listening where the probes and the Service look.
func TestChartConfig(t *testing.T) {
	vals := adminOnly()
	vals["tokens"] = map[string]any{"tokens": map[string]any{"a-long-operator-token": map[string]any{"name": "olga", "role": "operator"}}}
	vals["config"] = map[string]any{"canary": map[string]any{"percent": 20, "window": "1h"}}
	objs := mustRender(t, "modelgate", "mlops", vals)
	cm := find(objs, "ConfigMap", "modelgate")
	if cm == nil {
		t.Fatal("no ConfigMap modelgate")
	}
	cfg, _, _ := unstructured.NestedString(cm.Object, "data", "modelgate.yaml")
	for _, want := range []string{"listen: 0.0.0.0:8095", "tokens_file: /etc/modelgate/tokens/tokens.yaml", "percent: 20", "type: kserve", "production_namespace: mlops", "dir: /var/lib/modelgate/state"} {
		if !strings.Contains(cfg, want) {
			t.Errorf("modelgate.yaml lacks %q:\n%s", want, cfg)
		}
	}
	path := filepath.Join(t.TempDir(), "modelgate.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	// grafana loads the whole configuration (unknown keys and bad values
	// are errors) and needs nothing else.
	if out, err := exec.Command(mustModelgate(t), "grafana", "--config", path).CombinedOutput(); err != nil {
		t.Fatalf("modelgate does not load the chart's modelgate.yaml: %v\n%s\n%s", err, out, cfg)
	}
	tokens := find(objs, "Secret", "modelgate-tokens")
	if y, _, _ := unstructured.NestedString(tokens.Object, "stringData", "tokens.yaml"); !strings.Contains(y, "a-long-operator-token:") || !strings.Contains(y, "role: operator") {
		t.Errorf("tokens.yaml:\n%s", y)
	}
}

// TestChartApply installs the chart (server-side apply of what it renders)
// on a real API server, in namespaces of its own, reads every object back,
// and checks that its service account may do what modelgate does there and
// nothing more.
func TestChartApply(t *testing.T) {
	c := mustCluster(t)
	ctx := context.Background()
	const ns, staging = "ml-team", "ml-team-staging"
	if err := c.CreateNamespaces(ns, staging); err != nil {
		t.Fatal(err)
	}
	vals := adminOnly()
	vals["namespaces"] = map[string]any{"staging": staging, "production": ns}
	vals["secretEnv"] = []any{map[string]any{"name": "MLFLOW_TRACKING_TOKEN", "secretName": "mlflow", "key": "token"}}
	// A release name of its own: the cluster already has deploy/rbac.yaml's
	// modelgate-namespaces binding.
	objs := mustRender(t, "team-modelgate", ns, vals)
	got, err := newApplier(t, c).apply(ctx, objs, ns)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, o := range got {
		kinds = append(kinds, o.GetKind()+" "+o.GetNamespace()+"/"+o.GetName())
	}
	t.Logf("applied %s", strings.Join(kinds, ", "))
	checkDeployment(t, find(got, "Deployment", "team-modelgate"))
	if svc := find(got, "Service", "team-modelgate"); svc == nil {
		t.Error("no Service team-modelgate")
	}
	checkPermissions(t, c, ns, staging)
}

func checkDeployment(t *testing.T, d *unstructured.Unstructured) {
	t.Helper()
	if d == nil {
		t.Fatal("no Deployment team-modelgate")
	}
	containers, _, _ := unstructured.NestedSlice(d.Object, "spec", "template", "spec", "containers")
	c := containers[0].(map[string]any)
	for path, want := range map[string]any{
		"args":                                   []any{"server", "--config", "/etc/modelgate/config/modelgate.yaml"},
		"image":                                  "modelgate:dev",
		"livenessProbe.httpGet.path":             "/healthz",
		"readinessProbe.httpGet.path":            "/readyz",
		"ports.0.containerPort":                  int64(8095),
		"securityContext.readOnlyRootFilesystem": true,
	} {
		if got := lookup(c, path); !cmp.Equal(got, want) {
			t.Errorf("container %s = %v, want %v", path, got, want)
		}
	}
	if u, _, _ := unstructured.NestedInt64(d.Object, "spec", "template", "spec", "securityContext", "runAsUser"); u != 65532 {
		t.Errorf("runAsUser %d, want 65532", u)
	}
	var env []string
	for _, e := range lookup(c, "env").([]any) {
		env = append(env, e.(map[string]any)["name"].(string))
	}
	if diff := cmp.Diff([]string{"MODELGATE_SERVER_ADMIN_TOKEN", "MLFLOW_TRACKING_TOKEN"}, env); diff != "" {
		t.Errorf("env (-want +got):\n%s", diff)
	}
}

// lookup follows a dotted path of map keys and slice indexes.
func lookup(v any, path string) any {
	for _, k := range strings.Split(path, ".") {
		switch x := v.(type) {
		case map[string]any:
			v = x[k]
		case []any:
			i := int(k[0] - '0')
			if i >= len(x) {
				return nil
			}
			v = x[i]
		default:
			return nil
		}
	}
	return v
}

// checkPermissions acts as the chart's service account: what modelgate does
// is allowed (a missing object is NotFound, not Forbidden), the rest is not.
func checkPermissions(t *testing.T, c *kservetest.Cluster, ns, staging string) {
	t.Helper()
	ctx := context.Background()
	kube, err := kubernetes.NewForConfig(c.AsServiceAccount(ns, "team-modelgate"))
	if err != nil {
		t.Fatal(err)
	}
	sa, err := dynamic.NewForConfig(c.AsServiceAccount(ns, "team-modelgate"))
	if err != nil {
		t.Fatal(err)
	}
	allowed := map[string]error{}
	_, allowed["get namespace "+staging] = kube.CoreV1().Namespaces().Get(ctx, staging, metav1.GetOptions{})
	_, allowed["get inferenceservice in "+staging] = sa.Resource(kservetest.ISVC).Namespace(staging).Get(ctx, "m", metav1.GetOptions{})
	_, allowed["get inferenceservice in "+ns] = sa.Resource(kservetest.ISVC).Namespace(ns).Get(ctx, "m", metav1.GetOptions{})
	_, allowed["get prometheusrule in "+ns] = sa.Resource(kservetest.PrometheusRule).Namespace(ns).Get(ctx, "m", metav1.GetOptions{})
	_, allowed["list pods in "+ns] = kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	_, allowed["get serviceaccount in "+staging] = kube.CoreV1().ServiceAccounts(staging).Get(ctx, "default", metav1.GetOptions{})
	for what, err := range allowed {
		if err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("%s: %v, want it allowed", what, err)
		}
	}
	forbidden := map[string]error{}
	_, forbidden["list pods in "+staging] = kube.CoreV1().Pods(staging).List(ctx, metav1.ListOptions{})
	_, forbidden["get secret in "+ns] = kube.CoreV1().Secrets(ns).Get(ctx, "team-modelgate-admin-token", metav1.GetOptions{})
	_, forbidden["list inferenceservices in mlops"] = sa.Resource(kservetest.ISVC).Namespace("mlops").List(ctx, metav1.ListOptions{})
	for what, err := range forbidden {
		if !apierrors.IsForbidden(err) {
			t.Errorf("%s: %v, want Forbidden", what, err)
		}
	}
}

// TestChartHighAvailability: with highAvailability on, the replicas share
// PostgreSQL (the connection string from a Secret) and elect a leader
// through a Lease; no volume claim holds them to one node; modelgate loads
// the configuration. Without the database Secret the chart refuses.
func TestChartHighAvailability(t *testing.T) {
	vals := adminOnly()
	vals["highAvailability"] = map[string]any{"enabled": true, "replicas": 3}
	if _, err := render(t, "modelgate", "mlops", vals); err == nil || !strings.Contains(err.Error(), "highAvailability.database.existingSecret") {
		t.Fatalf("rendered without the database Secret: %v", err)
	}
	vals["highAvailability"] = map[string]any{"enabled": true, "replicas": 3, "database": map[string]any{"existingSecret": "modelgate-db"}}
	objs := mustRender(t, "modelgate", "mlops", vals)
	if find(objs, "PersistentVolumeClaim", "modelgate") != nil {
		t.Error("a ReadWriteOnce claim would hold every replica to one node")
	}
	dep := find(objs, "Deployment", "modelgate")
	if n, _, _ := unstructured.NestedFieldNoCopy(dep.Object, "spec", "replicas"); fmt.Sprint(n) != "3" {
		t.Errorf("replicas %v, want 3", n)
	}
	if _, has, _ := unstructured.NestedString(dep.Object, "spec", "strategy", "type"); has {
		t.Error("Recreate would stop every replica at once")
	}
	containers, _, _ := unstructured.NestedSlice(dep.Object, "spec", "template", "spec", "containers")
	env := fmt.Sprint(containers[0].(map[string]any)["env"])
	if !strings.Contains(env, "MODELGATE_POSTGRES_DSN") || !strings.Contains(env, "modelgate-db") {
		t.Errorf("the DSN is not taken from the Secret: %s", env)
	}
	cm := find(objs, "ConfigMap", "modelgate")
	cfg, _, _ := unstructured.NestedString(cm.Object, "data", "modelgate.yaml")
	for _, want := range []string{"type: postgres", "dsn_env: MODELGATE_POSTGRES_DSN", "leader_election:", "namespace: mlops", "name: modelgate"} {
		if !strings.Contains(cfg, want) {
			t.Errorf("modelgate.yaml lacks %q:\n%s", want, cfg)
		}
	}
	path := filepath.Join(t.TempDir(), "modelgate.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(mustModelgate(t), "grafana", "--config", path)
	cmd.Env = append(os.Environ(), "MODELGATE_POSTGRES_DSN=postgres://u:p@127.0.0.1:1/db")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("modelgate does not load the chart's modelgate.yaml: %v\n%s\n%s", err, out, cfg)
	}
}
