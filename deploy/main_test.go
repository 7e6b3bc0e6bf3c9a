package deploy

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/restmapper"
	"sigs.k8s.io/yaml"

	"github.com/modelgate/modelgate/kserve/kservetest"
)

// shared is what the tests share: one API server, one modelgate binary.
var shared struct {
	clusterOnce sync.Once
	cluster     *kservetest.Cluster
	clusterErr  error

	binOnce sync.Once
	bin     string
	binErr  error
	binDir  string
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared.cluster != nil {
		if err := shared.cluster.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "stop the test API server:", err)
		}
	}
	if shared.binDir != "" {
		os.RemoveAll(shared.binDir)
	}
	os.Exit(code)
}

// mustCluster returns the shared test API server, started on first use; it
// skips tb when the Kubernetes test binaries are missing (see
// kservetest.Check).
func mustCluster(tb testing.TB) *kservetest.Cluster {
	tb.Helper()
	if testing.Short() {
		tb.Skip("starts a test API server")
	}
	shared.clusterOnce.Do(func() { shared.cluster, shared.clusterErr = kservetest.Start() })
	kservetest.Check(tb, shared.clusterErr)
	return shared.cluster
}

// mustModelgate builds modelgate once (as scripts/image does) and returns
// the binary's path.
func mustModelgate(tb testing.TB) string {
	tb.Helper()
	if testing.Short() {
		tb.Skip("builds modelgate")
	}
	shared.binOnce.Do(func() {
		if shared.binDir, shared.binErr = os.MkdirTemp("", "modelgate-deploy-test"); shared.binErr != nil {
			return
		}
		shared.bin = filepath.Join(shared.binDir, "modelgate")
		cmd := exec.Command("go", "build", "-trimpath", "-o", shared.bin, "./cmd/modelgate")
		cmd.Dir = kservetest.ModuleRoot()
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			shared.binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if shared.binErr != nil {
		tb.Fatal(shared.binErr)
	}
	return shared.bin
}

// splitYAML parses a multi-document YAML stream into objects, leaving out
// empty documents.
func splitYAML(tb testing.TB, src string) []*unstructured.Unstructured {
	tb.Helper()
	var out []*unstructured.Unstructured
	for _, doc := range strings.Split("\n"+src, "\n---") {
		var m map[string]any
		if err := yaml.Unmarshal([]byte(doc), &m); err != nil {
			tb.Fatalf("parse YAML: %v\n%s", err, doc)
		}
		if len(m) > 0 {
			out = append(out, &unstructured.Unstructured{Object: m})
		}
	}
	return out
}

// applier applies objects to the API server as helm or kubectl would
// (server-side apply), namespaced ones into a default namespace when they
// name none.
type applier struct {
	dyn    dynamic.Interface
	mapper meta.RESTMapper
}

func newApplier(tb testing.TB, c *kservetest.Cluster) *applier {
	tb.Helper()
	dc, err := discovery.NewDiscoveryClientForConfig(c.Admin)
	if err != nil {
		tb.Fatal(err)
	}
	return &applier{dyn: c.Dyn, mapper: restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc))}
}

// resource is the client for obj's kind, in its namespace (set to ns when
// empty and the kind is namespaced).
func (a *applier) resource(obj *unstructured.Unstructured, ns string) (dynamic.ResourceInterface, error) {
	gvk := obj.GroupVersionKind()
	m, err := a.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", gvk, err)
	}
	if m.Scope.Name() != meta.RESTScopeNameNamespace {
		return a.dyn.Resource(m.Resource), nil
	}
	if obj.GetNamespace() == "" {
		obj.SetNamespace(ns)
	}
	return a.dyn.Resource(m.Resource).Namespace(obj.GetNamespace()), nil
}

// apply applies each object and returns what the API server made of it.
func (a *applier) apply(ctx context.Context, objs []*unstructured.Unstructured, ns string) ([]*unstructured.Unstructured, error) {
	var out []*unstructured.Unstructured
	for _, obj := range objs {
		ri, err := a.resource(obj, ns)
		if err != nil {
			return nil, err
		}
		if _, err := ri.Apply(ctx, obj.GetName(), obj, metav1.ApplyOptions{FieldManager: "modelgate-deploy-test", Force: true}); err != nil {
			return nil, fmt.Errorf("apply %s %s/%s: %w", obj.GetKind(), obj.GetNamespace(), obj.GetName(), err)
		}
		got, err := ri.Get(ctx, obj.GetName(), metav1.GetOptions{})
		if err != nil {
			return nil, fmt.Errorf("read back %s %s: %w", obj.GetKind(), obj.GetName(), err)
		}
		out = append(out, got)
	}
	return out, nil
}
