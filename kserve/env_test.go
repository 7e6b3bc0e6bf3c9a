package kserve_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/yaml"
)

// The test cluster: a real kube-apiserver and etcd (scripts/kube-bin) with
// RBAC on, the real InferenceService CRD of kserve v0.20.0 and the Istio
// VirtualService test CRD from the same module, and fakeKServe writing
// status.
var cluster struct {
	once    sync.Once
	err     error
	skip    string
	env     *envtest.Environment
	admin   *rest.Config
	dyn     dynamic.Interface
	kube    kubernetes.Interface
	kserve  *fakeKServe
	stopCtl context.CancelFunc
}

const kserveModule = "github.com/kserve/kserve@v0.20.0"

func TestMain(m *testing.M) {
	code := m.Run()
	if cluster.env != nil {
		cluster.stopCtl()
		_ = cluster.env.Stop()
	}
	os.Exit(code)
}

// mustCluster starts the shared cluster once, or skips (fails with
// MODELGATE_REQUIRE_INTEGRATION=1) when the binaries are missing.
func mustCluster(t *testing.T) {
	t.Helper()
	cluster.once.Do(startCluster)
	if cluster.skip != "" {
		if os.Getenv("MODELGATE_REQUIRE_INTEGRATION") == "1" {
			t.Fatal(cluster.skip)
		}
		t.Skip(cluster.skip)
	}
	if cluster.err != nil {
		t.Fatal(cluster.err)
	}
}

func assetsDir() string {
	if d := os.Getenv("KUBEBUILDER_ASSETS"); d != "" {
		return d
	}
	wd, _ := os.Getwd()
	return filepath.Join(filepath.Dir(wd), ".cache", "kube-bin")
}

func startCluster() {
	assets := assetsDir()
	for _, b := range []string{"kube-apiserver", "etcd"} {
		if _, err := os.Stat(filepath.Join(assets, b)); err != nil {
			cluster.skip = fmt.Sprintf("no %s in %s: run scripts/kube-bin (or set KUBEBUILDER_ASSETS)", b, assets)
			return
		}
	}
	dir, err := kserveModuleDir()
	if err != nil {
		cluster.err = err
		return
	}
	cluster.env = &envtest.Environment{
		BinaryAssetsDirectory: assets,
		CRDInstallOptions: envtest.CRDInstallOptions{
			Paths: []string{
				filepath.Join(dir, "config/crd/full/serving.kserve.io_inferenceservices.yaml"),
				filepath.Join(dir, "test/crds/istio_virtualservice.yaml"),
			},
			ErrorIfPathMissing: true,
		},
	}
	cfg, err := cluster.env.Start()
	if err != nil {
		cluster.err = fmt.Errorf("start envtest: %w", err)
		return
	}
	cluster.admin = cfg
	cluster.dyn = dynamic.NewForConfigOrDie(cfg)
	cluster.kube = kubernetes.NewForConfigOrDie(cfg)
	if cluster.err = setupNamespaces(); cluster.err != nil {
		return
	}
	if cluster.err = applyManifest(rbacManifest(nil)); cluster.err != nil {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	cluster.stopCtl = cancel
	cluster.kserve = newFakeKServe(cluster.dyn, cluster.kube)
	go cluster.kserve.run(ctx)
}

// kserveModuleDir fetches the kserve module through the Go module proxy
// (cached in GOMODCACHE) and returns its directory.
func kserveModuleDir() (string, error) {
	cmd := exec.Command("go", "mod", "download", "-json", kserveModule)
	cmd.Dir = os.TempDir() // outside modelgate's module: go.mod stays untouched
	cmd.Env = append(os.Environ(), "GOFLAGS=", "GOWORK=off")
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go mod download %s: %v", kserveModule, err)
	}
	var m struct{ Dir, Error string }
	if err := json.Unmarshal(out, &m); err != nil || m.Dir == "" {
		return "", fmt.Errorf("go mod download %s: %s %v", kserveModule, m.Error, err)
	}
	return m.Dir, nil
}

func setupNamespaces() error {
	ctx := context.Background()
	for _, ns := range []string{"mlops-staging", "mlops", "nosa-staging", "nosa"} {
		if _, err := cluster.kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
			return err
		}
	}
	for _, sa := range []struct{ ns, name string }{{"mlops", "modelgate"}, {"mlops", "kserve-sa"}, {"mlops-staging", "kserve-sa"}} {
		if _, err := cluster.kube.CoreV1().ServiceAccounts(sa.ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: sa.name}}, metav1.CreateOptions{}); err != nil {
			return err
		}
	}
	return nil
}

// rbacManifest returns deploy/rbac.yaml's objects, each passed through edit
// (which may change them; returning false drops the object).
func rbacManifest(edit func(*unstructured.Unstructured) bool) []*unstructured.Unstructured {
	wd, _ := os.Getwd()
	raw, err := os.ReadFile(filepath.Join(filepath.Dir(wd), "deploy", "rbac.yaml"))
	if err != nil {
		panic(err)
	}
	var out []*unstructured.Unstructured
	for _, doc := range strings.Split(string(raw), "\n---\n") {
		var m map[string]any
		if err := yaml.Unmarshal([]byte(doc), &m); err != nil {
			panic(err)
		}
		if len(m) == 0 {
			continue
		}
		u := &unstructured.Unstructured{Object: m}
		if edit == nil || edit(u) {
			out = append(out, u)
		}
	}
	return out
}

func rbacGVR(kind string) schema.GroupVersionResource {
	return schema.GroupVersionResource{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: strings.ToLower(kind) + "s"}
}

func applyManifest(objs []*unstructured.Unstructured) error {
	for _, o := range objs {
		r := cluster.dyn.Resource(rbacGVR(o.GetKind()))
		var ri dynamic.ResourceInterface = r
		if o.GetNamespace() != "" {
			ri = r.Namespace(o.GetNamespace())
		}
		if _, err := ri.Create(context.Background(), o, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("create %s %s: %w", o.GetKind(), o.GetName(), err)
		}
	}
	return nil
}

// asServiceAccount returns a client config acting as ns/name (the admin
// impersonates it, so RBAC decides as for the real service account).
func asServiceAccount(ns, name string) *rest.Config {
	cfg := rest.CopyConfig(cluster.admin)
	cfg.Impersonate = rest.ImpersonationConfig{
		UserName: fmt.Sprintf("system:serviceaccount:%s:%s", ns, name),
		Groups:   []string{"system:serviceaccounts", "system:serviceaccounts:" + ns, "system:authenticated"},
	}
	return cfg
}
