package kserve_test

import (
	"os"
	"sync"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/modelgate/modelgate/kserve/kservetest"
)

// The test cluster (kservetest.StartReal): a real kube-apiserver and etcd
// with RBAC on, KServe v0.20.0's real controller manager with its CRDs,
// webhooks and configuration, the Istio VirtualService test CRD, the Gateway
// API's and the prometheus-operator's CRDs, deploy/rbac.yaml applied, and
// the stand-ins (the kubelet, the Knative Service status writer, the
// gateway). Started once, by the first test that needs it.
var cluster struct {
	once sync.Once
	err  error
	c    *kservetest.Cluster
}

func TestMain(m *testing.M) {
	code := m.Run()
	for _, c := range []*kservetest.Cluster{cluster.c, knativeCluster.c} {
		if c != nil {
			_ = c.Stop()
		}
	}
	os.Exit(code)
}

// mustCluster starts the shared cluster once, or skips (fails with
// MODELGATE_REQUIRE_INTEGRATION=1) when the binaries are missing.
func mustCluster(t *testing.T) *kservetest.Cluster {
	t.Helper()
	cluster.once.Do(func() {
		cluster.c, cluster.err = kservetest.StartReal(kservetest.RealOptions{})
		if cluster.err == nil {
			// Namespaces without kserve-sa, for the missing service account case.
			cluster.err = cluster.c.CreateNamespaces("nosa-staging", "nosa")
		}
	})
	kservetest.Check(t, cluster.err)
	return cluster.c
}

// rbacManifest is kservetest.RBACManifest, failing t on error.
func rbacManifest(t *testing.T, edit func(*unstructured.Unstructured) bool) []*unstructured.Unstructured {
	t.Helper()
	objs, err := kservetest.RBACManifest(edit)
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

// knativeCluster is the cluster with KServe's real controller manager and
// Knative Serving's own controllers, started once by the first test that
// needs it.
var knativeCluster struct {
	once sync.Once
	err  error
	c    *kservetest.Cluster
}

// mustKnativeCluster starts it once, or skips (fails with
// MODELGATE_REQUIRE_INTEGRATION=1) when a binary is missing.
func mustKnativeCluster(t *testing.T) *kservetest.Cluster {
	t.Helper()
	knativeCluster.once.Do(func() {
		knativeCluster.c, knativeCluster.err = kservetest.StartReal(kservetest.RealOptions{Knative: true})
	})
	kservetest.Check(t, knativeCluster.err)
	return knativeCluster.c
}
