package kserve

import (
	"fmt"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// virtualService is Istio's VirtualService (networking.istio.io/v1beta1),
// route kind virtualservice: for clusters whose ingress is Istio's own
// Gateway rather than the Gateway API.
type virtualService struct{}

func (virtualService) resource() schema.GroupVersionResource { return vsGVR }

// render: hosts are platform.route.hostnames, the one gateway is
// platform.route.gateway (Istio's namespace/name form), and the default
// HTTP route weighs the predictor Services by their cluster-local names.
func (virtualService) render(o Options, isvc string, w weights) *unstructured.Unstructured {
	var routes []any
	for _, b := range backends(isvc, w) {
		routes = append(routes, map[string]any{
			"destination": map[string]any{
				"host": b.service + "." + o.ProductionNamespace + ".svc.cluster.local",
				"port": map[string]any{"number": int64(PredictorPort)},
			},
			"weight": b.weight,
		})
	}
	spec := map[string]any{
		"hosts":    toAnySlice(o.Route.Hostnames),
		"gateways": []any{o.Route.Gateway},
		"http":     []any{map[string]any{"route": routes}},
	}
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": vsGVR.GroupVersion().String(), "kind": "VirtualService", "spec": spec,
	}}
}

// weights reads the first HTTP route, the one modelgate writes; Istio
// takes a lone destination without a weight as 100.
func (virtualService) weights(route *unstructured.Unstructured) map[string]int64 {
	raw := map[string]int64{}
	https, _, _ := unstructuredSlice(route.Object, "spec", "http")
	if len(https) == 0 {
		return raw
	}
	routes, _, _ := unstructuredSlice(https[0], "route")
	for _, r := range routes {
		dest, _ := r["destination"].(map[string]any)
		host, _ := dest["host"].(string)
		w, ok := r["weight"].(int64)
		if !ok && len(routes) == 1 {
			w = 100
		}
		raw[strings.SplitN(host, ".", 2)[0]] += w
	}
	return raw
}

// accepted reads Istio's Reconciled condition when istiod reports status
// (off by default: PILOT_ENABLE_STATUS); without it only the spec and the
// backends can be checked, which routeServing does.
func (virtualService) accepted(_ Options, route *unstructured.Unstructured) string {
	conds, _, _ := unstructuredSlice(route.Object, "status", "conditions")
	for _, c := range conds {
		if c["type"] != "Reconciled" {
			continue
		}
		if gen := istioGeneration(route); gen != route.GetGeneration() {
			return fmt.Sprintf("VirtualService %s: Reconciled describes generation %d, not %d", route.GetName(), gen, route.GetGeneration())
		}
		if c["status"] != "True" {
			return fmt.Sprintf("VirtualService %s is not reconciled yet: %v (%v)", route.GetName(), c["reason"], c["message"])
		}
	}
	return ""
}

// istioGeneration is status.observedGeneration, which Istio writes as a
// number or, from its protobuf int64, as a string.
func istioGeneration(route *unstructured.Unstructured) int64 {
	switch g := unstructuredField(route.Object, "status", "observedGeneration").(type) {
	case int64:
		return g
	case string:
		n, _ := strconv.ParseInt(g, 10, 64)
		return n
	}
	return 0
}

func unstructuredField(obj map[string]any, fields ...string) any {
	v, _, _ := unstructured.NestedFieldNoCopy(obj, fields...)
	return v
}
