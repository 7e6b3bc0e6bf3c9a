package kserve_test

import (
	"context"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/kserve"
)

var vsGVR = schema.GroupVersionResource{Group: "networking.istio.io", Version: "v1beta1", Resource: "virtualservices"}

// setVirtualService writes the VirtualService net-istio would write for the
// given revision weights.
func setVirtualService(t *testing.T, name string, weights map[string]int64) {
	t.Helper()
	var routes []any
	for rev, w := range weights {
		routes = append(routes, map[string]any{
			"destination": map[string]any{"host": rev + ".mlops.svc.cluster.local", "port": map[string]any{"number": int64(80)}},
			"weight":      w,
			"headers":     map[string]any{"request": map[string]any{"set": map[string]any{"Knative-Serving-Revision": rev}}},
		})
	}
	vs := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "networking.istio.io/v1beta1", "kind": "VirtualService",
		"metadata": map[string]any{"name": name, "namespace": "mlops"},
		"spec":     map[string]any{"hosts": []any{name + ".mlops.example.com"}, "http": []any{map[string]any{"route": routes}}},
	}}
	data, _ := vs.MarshalJSON()
	force := true
	if _, err := cluster.c.Dyn.Resource(vsGVR).Namespace("mlops").Patch(context.Background(), name, "application/apply-patch+yaml", data, metav1.PatchOptions{FieldManager: "net-istio", Force: &force}); err != nil {
		t.Fatal(err)
	}
}

// TestVirtualServiceCheck: with platform.virtual_service set, the split
// must also be in the Istio VirtualService's weights.
func TestVirtualServiceCheck(t *testing.T) {
	mustCluster(t)
	o := testOptions()
	o.VirtualService = "{name}-predictor-ingress"
	o.CanaryTimeout = 2 * time.Second
	d, err := kserve.New(cluster.c.Admin, o)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	vs := "vs-model-predictor-ingress"
	setVirtualService(t, vs, map[string]int64{"vs-model-predictor-00001": 100})
	if err := d.SetStable(ctx, dep("vs-model", "1")); err != nil {
		t.Fatal(err)
	}
	err = d.StartCanary(ctx, dep("vs-model", "2"), 10)
	if modelgate.ErrorCode(err) != modelgate.EPRECONDITION || !strings.Contains(err.Error(), "VirtualService "+vs+" routes") {
		t.Fatalf("StartCanary with a stale VirtualService = %v, want EPRECONDITION naming it", err)
	}
	setVirtualService(t, vs, map[string]int64{"vs-model-predictor-00001": 90, "vs-model-predictor-00002": 10})
	if err := d.StartCanary(ctx, dep("vs-model", "2"), 10); err != nil {
		t.Fatal(err)
	}
}
