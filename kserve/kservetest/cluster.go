package kservetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/yaml"
)

// KServeModule is where the real InferenceService (and the test
// VirtualService) CRDs come from; PrometheusOperatorModule the
// PrometheusRule CRD (its example/prometheus-operator-crd directory).
const (
	KServeModule             = "github.com/kserve/kserve@v0.20.0"
	PrometheusOperatorModule = "github.com/prometheus-operator/prometheus-operator@v0.85.0"
)

// PrometheusRule is the prometheus-operator's PrometheusRule resource.
var PrometheusRule = schema.GroupVersionResource{Group: "monitoring.coreos.com", Version: "v1", Resource: "prometheusrules"}

// The identity deploy/rbac.yaml grants: modelgate's service account.
const (
	ModelgateNamespace = "mlops"
	ModelgateAccount   = "modelgate"
)

// ISVC is the InferenceService resource.
var ISVC = schema.GroupVersionResource{Group: "serving.kserve.io", Version: "v1beta1", Resource: "inferenceservices"}

// ErrNotInstalled means the kube-apiserver or etcd binary is missing: tests
// skip (or fail under MODELGATE_REQUIRE_INTEGRATION=1), see Check.
var ErrNotInstalled = errors.New("kubernetes test binaries not installed")

// Cluster is a running test API server.
type Cluster struct {
	Admin *rest.Config         // cluster-admin
	Dyn   dynamic.Interface    // as Admin
	Kube  kubernetes.Interface // as Admin
	Real  *Real                // KServe's real controller manager and the stand-ins (StartReal)
	// Kubeconfig is a kubeconfig file authenticating (client certificate) as
	// system:serviceaccount:mlops:modelgate, which holds exactly
	// deploy/rbac.yaml's permissions.
	Kubeconfig string

	plane       *controlPlane
	stop        context.CancelFunc
	webhookPort int            // KServe's webhook server (StartReal)
	webhookCA   *certAuthority // signed its certificate
}

// Start starts etcd and the API server, installs the CRDs (InferenceService,
// the test VirtualService, PrometheusRule), creates the
// playbook's namespaces (mlops-staging, mlops) and service accounts
// (mlops/modelgate, kserve-sa in both) and applies deploy/rbac.yaml; no
// controller runs (StartReal runs KServe's): for tests of what needs only
// the API server (leader election, the Helm chart, RBAC). ErrNotInstalled
// (wrapped) when the binaries are missing. Stop it with Stop.
func Start() (*Cluster, error) {
	var files []string
	for _, m := range []struct{ module, file string }{
		{KServeModule, "config/crd/full/serving.kserve.io_inferenceservices.yaml"},
		{KServeModule, "test/crds/istio_virtualservice.yaml"},
	} {
		dir, err := moduleDir(m.module)
		if err != nil {
			return nil, err
		}
		files = append(files, filepath.Join(dir, m.file))
	}
	c, err := startPlane()
	if err != nil {
		return nil, err
	}
	if err := c.setupCommon(files); err != nil {
		_ = c.Stop()
		return nil, err
	}
	return c, nil
}

// startPlane starts etcd and the API server from the binaries in
// AssetsDir and connects to it as cluster-admin. ErrNotInstalled (wrapped)
// when the binaries are missing.
func startPlane() (*Cluster, error) {
	assets := AssetsDir()
	for _, b := range []string{"kube-apiserver", "etcd"} {
		if _, err := os.Stat(filepath.Join(assets, b)); err != nil {
			return nil, fmt.Errorf("%w: no %s in %s: run scripts/kube-bin (or set KUBEBUILDER_ASSETS)", ErrNotInstalled, b, assets)
		}
	}
	plane, err := startControlPlane(assets)
	if err != nil {
		return nil, fmt.Errorf("start the test control plane: %w", err)
	}
	c := &Cluster{plane: plane}
	if err := c.connect(); err != nil {
		_ = c.Stop()
		return nil, err
	}
	return c, nil
}

// setupCommon installs the CRDs in files and the PrometheusRule CRD,
// creates the playbook's namespaces and service accounts, applies
// deploy/rbac.yaml and writes Kubeconfig.
func (c *Cluster) setupCommon(files []string) error {
	dir, err := moduleDir(PrometheusOperatorModule)
	if err != nil {
		return err
	}
	files = append(files, filepath.Join(dir, "example/prometheus-operator-crd/monitoring.coreos.com_prometheusrules.yaml"))
	if err := c.installCRDs(files...); err != nil {
		return err
	}
	if err := c.CreateNamespaces("mlops-staging", "mlops"); err != nil {
		return err
	}
	if err := c.CreateServiceAccounts([][2]string{{"mlops", ModelgateAccount}, {"mlops", "kserve-sa"}, {"mlops-staging", "kserve-sa"}}); err != nil {
		return err
	}
	objs, err := RBACManifest(nil)
	if err != nil {
		return err
	}
	if err := c.Apply(objs); err != nil {
		return err
	}
	return c.writeKubeconfig()
}

// connect makes the cluster-admin clients.
func (c *Cluster) connect() error {
	var err error
	if c.Admin, err = c.plane.config("admin", "system:masters"); err != nil {
		return err
	}
	if c.Dyn, err = dynamic.NewForConfig(c.Admin); err != nil {
		return err
	}
	c.Kube, err = kubernetes.NewForConfig(c.Admin)
	return err
}

// writeKubeconfig writes Kubeconfig for modelgate's service account.
func (c *Cluster) writeKubeconfig() error {
	cfg, err := c.plane.config(ServiceAccountUser(ModelgateNamespace, ModelgateAccount), serviceAccountGroups(ModelgateNamespace)...)
	if err != nil {
		return err
	}
	kc, err := kubeconfig(cfg)
	if err != nil {
		return err
	}
	c.Kubeconfig = filepath.Join(c.plane.dir, "kubeconfig")
	return os.WriteFile(c.Kubeconfig, kc, 0o600)
}

// Stop stops the controller, the API server and etcd, and removes their
// directory (certificates, data, logs, the kubeconfig).
func (c *Cluster) Stop() error {
	if c.stop != nil {
		c.stop()
	}
	var errs []error
	if c.Real != nil && c.Real.Knative != nil {
		errs = append(errs, c.Real.Knative.Stop())
	}
	return errors.Join(append(errs, c.plane.stop())...)
}

// Check skips tb when err is ErrNotInstalled (fails it instead with
// MODELGATE_REQUIRE_INTEGRATION=1) and fails it on any other error.
func Check(tb testing.TB, err error) {
	tb.Helper()
	switch {
	case err == nil:
	case errors.Is(err, ErrNotInstalled) && os.Getenv("MODELGATE_REQUIRE_INTEGRATION") != "1":
		tb.Skip(err)
	default:
		tb.Fatal(err)
	}
}

// AssetsDir is $KUBEBUILDER_ASSETS, else the module's .cache/kube-bin.
func AssetsDir() string {
	if d := os.Getenv("KUBEBUILDER_ASSETS"); d != "" {
		return d
	}
	return filepath.Join(ModuleRoot(), ".cache", "kube-bin")
}

// ModuleRoot is modelgate's module directory (found from this file).
func ModuleRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// moduleDir fetches a module (path@version) through the Go module proxy
// (cached in GOMODCACHE) and returns its directory.
func moduleDir(module string) (string, error) {
	cmd := exec.Command("go", "mod", "download", "-json", module)
	cmd.Dir = os.TempDir() // outside modelgate's module: go.mod stays untouched
	cmd.Env = append(os.Environ(), "GOFLAGS=", "GOWORK=off")
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go mod download %s: %v", module, err)
	}
	var m struct{ Dir, Error string }
	if err := json.Unmarshal(out, &m); err != nil || m.Dir == "" {
		return "", fmt.Errorf("go mod download %s: %s %v", module, m.Error, err)
	}
	return m.Dir, nil
}

// CreateNamespaces creates namespaces.
func (c *Cluster) CreateNamespaces(names ...string) error {
	for _, ns := range names {
		if _, err := c.Kube.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("create namespace %s: %w", ns, err)
		}
	}
	return nil
}

// CreateServiceAccounts creates service accounts given as {namespace, name}.
func (c *Cluster) CreateServiceAccounts(accounts [][2]string) error {
	for _, sa := range accounts {
		obj := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: sa[1]}}
		if _, err := c.Kube.CoreV1().ServiceAccounts(sa[0]).Create(context.Background(), obj, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("create service account %s/%s: %w", sa[0], sa[1], err)
		}
	}
	return nil
}

// RBACManifest returns deploy/rbac.yaml's objects, each passed through edit
// (which may change them; returning false drops the object).
func RBACManifest(edit func(*unstructured.Unstructured) bool) ([]*unstructured.Unstructured, error) {
	raw, err := os.ReadFile(filepath.Join(ModuleRoot(), "deploy", "rbac.yaml"))
	if err != nil {
		return nil, err
	}
	var out []*unstructured.Unstructured
	for _, doc := range strings.Split(string(raw), "\n---\n") {
		var m map[string]any
		if err := yaml.Unmarshal([]byte(doc), &m); err != nil {
			return nil, fmt.Errorf("deploy/rbac.yaml: %w", err)
		}
		if len(m) == 0 {
			continue
		}
		u := &unstructured.Unstructured{Object: m}
		if edit == nil || edit(u) {
			out = append(out, u)
		}
	}
	return out, nil
}

// Apply creates RBAC objects (Role, RoleBinding, ClusterRole,
// ClusterRoleBinding).
func (c *Cluster) Apply(objs []*unstructured.Unstructured) error {
	for _, o := range objs {
		gvr := schema.GroupVersionResource{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: strings.ToLower(o.GetKind()) + "s"}
		var ri dynamic.ResourceInterface = c.Dyn.Resource(gvr)
		if o.GetNamespace() != "" {
			ri = c.Dyn.Resource(gvr).Namespace(o.GetNamespace())
		}
		if _, err := ri.Create(context.Background(), o, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("create %s %s: %w", o.GetKind(), o.GetName(), err)
		}
	}
	return nil
}

// AsServiceAccount returns a client config acting as ns/name (the admin
// impersonates it, so RBAC decides as for the real service account).
func (c *Cluster) AsServiceAccount(ns, name string) *rest.Config {
	cfg := rest.CopyConfig(c.Admin)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: ServiceAccountUser(ns, name), Groups: serviceAccountGroups(ns)}
	return cfg
}

// ServiceAccountUser is the user name the API server gives a service account.
func ServiceAccountUser(ns, name string) string {
	return fmt.Sprintf("system:serviceaccount:%s:%s", ns, name)
}

func serviceAccountGroups(ns string) []string {
	return []string{"system:serviceaccounts", "system:serviceaccounts:" + ns, "system:authenticated"}
}
