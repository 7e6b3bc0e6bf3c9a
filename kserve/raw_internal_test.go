package kserve

import (
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/modelgate/modelgate"
)

func isvcView(t *testing.T, name, version string, deleting bool) *view {
	t.Helper()
	obj := &unstructured.Unstructured{Object: map[string]any{"metadata": map[string]any{
		"name": name, "namespace": "mlops", "annotations": map[string]any{AnnotationVersion: version},
	}}}
	if deleting {
		now := metav1.NewTime(time.Now())
		obj.SetDeletionTimestamp(&now)
	}
	v, err := newView(obj)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestRawTraffic: the route's weights by version, with what is not in
// effect yet reported as pending.
func TestRawTraffic(t *testing.T) {
	o := Options{ProductionNamespace: "mlops", Route: Route{Gateway: "gw/public"}}
	route := func(w weights) *unstructured.Unstructured { return o.renderRoute("m", w, "") }
	stable, canary := isvcView(t, "m", "1", false), isvcView(t, "m-canary", "2", false)
	deleting := isvcView(t, "m-canary", "2", true)
	for _, c := range []struct {
		name             string
		s                rawState
		serves, accepted bool
		want             modelgate.TrafficSplit
	}{
		{"nothing", rawState{}, false, false, modelgate.TrafficSplit{}},
		{"stable", rawState{stable: stable, route: route(weights{stable: 100})}, true, true, modelgate.TrafficSplit{Stable: "1"}},
		{"no route yet", rawState{stable: stable}, true, false, modelgate.TrafficSplit{Canary: "1"}},
		{"route not accepted", rawState{stable: stable, route: route(weights{stable: 100})}, true, false, modelgate.TrafficSplit{Canary: "1"}},
		{"stable not serving its spec", rawState{stable: stable, route: route(weights{stable: 100})}, false, true, modelgate.TrafficSplit{Canary: "1"}},
		{"canary not routed yet", rawState{stable: stable, canary: canary, route: route(weights{stable: 100})}, true, true,
			modelgate.TrafficSplit{Stable: "1", Canary: "2"}},
		{"canary", rawState{stable: stable, canary: canary, route: route(weights{stable: 90, canary: 10})}, true, true,
			modelgate.TrafficSplit{Stable: "1", Canary: "2", CanaryPercent: 10}},
		{"canary weights not accepted", rawState{stable: stable, canary: canary, route: route(weights{stable: 90, canary: 10})}, true, false,
			modelgate.TrafficSplit{Stable: "1", Canary: "2"}},
		{"half promoted", rawState{stable: isvcView(t, "m", "2", false), canary: canary, route: route(weights{canary: 100})}, false, true,
			modelgate.TrafficSplit{Stable: "2", Canary: "2", CanaryPercent: 100}},
		{"canary being deleted", rawState{stable: stable, canary: deleting, route: route(weights{stable: 100})}, true, true,
			modelgate.TrafficSplit{Stable: "1"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.s.name = "m"
			if c.s.route != nil {
				c.s.w = o.routeWeights(c.s.route, "m")
			}
			if got := c.s.traffic(c.serves, c.accepted); got != c.want {
				t.Errorf("traffic = %+v, want %+v", got, c.want)
			}
		})
	}
}

func TestRenderRoute(t *testing.T) {
	o := Options{ProductionNamespace: "mlops", Route: Route{Gateway: "gw/public", Hostnames: []string{"models.example.com"}}}
	r := o.renderRoute("m", weights{stable: 90, canary: 10}, "stable=1:90 canary=2:10")
	if r.GetName() != "m-modelgate" || r.GetNamespace() != "mlops" {
		t.Errorf("route %s/%s", r.GetNamespace(), r.GetName())
	}
	if w := o.routeWeights(r, "m"); w.stable != 90 || w.canary != 10 || len(w.other) != 0 {
		t.Errorf("weights read back %v", w)
	}
	one := o.renderRoute("m", weights{stable: 100}, "")
	rules, _, _ := unstructuredSlice(one.Object, "spec", "rules")
	if refs, _, _ := unstructuredSlice(rules[0], "backendRefs"); len(refs) != 1 || refs[0]["name"] != "m-predictor" {
		t.Errorf("a 0%% backend is rendered: %v", refs)
	}
	// Weights are proportions: 1:3 is 25%/75%; a Service modelgate did not
	// write is kept by name.
	_ = unstructured.SetNestedSlice(one.Object, []any{map[string]any{"backendRefs": []any{
		map[string]any{"name": "m-predictor", "weight": int64(1)},
		map[string]any{"name": "other", "weight": int64(3)},
	}}}, "spec", "rules")
	if w := o.routeWeights(one, "m"); w.stable != 25 || w.other["other"] != 75 {
		t.Errorf("weights %v", w)
	}
}

// TestRouteAccepted: the Gateway's entry must have Accepted and
// ResolvedRefs True at the route's current generation.
func TestRouteAccepted(t *testing.T) {
	o := Options{ProductionNamespace: "mlops", Route: Route{Gateway: "gw/public"}}
	cond := func(typ, status string, gen int64) any {
		return map[string]any{"type": typ, "status": status, "reason": "R", "message": "m", "observedGeneration": gen}
	}
	parent := func(ns string, conds ...any) any {
		return map[string]any{"parentRef": map[string]any{"namespace": ns, "name": "public"}, "controllerName": "x/y", "conditions": conds}
	}
	for _, c := range []struct {
		name    string
		parents []any
		want    string // "" accepted, else a part of the reason
	}{
		{"accepted", []any{parent("gw", cond("Accepted", "True", 2), cond("ResolvedRefs", "True", 2))}, ""},
		{"no status", nil, "has not reported"},
		{"other gateway", []any{parent("other", cond("Accepted", "True", 2), cond("ResolvedRefs", "True", 2))}, "has not reported"},
		{"old generation", []any{parent("gw", cond("Accepted", "True", 1), cond("ResolvedRefs", "True", 1))}, "generation 1, not 2"},
		{"refs unresolved", []any{parent("gw", cond("Accepted", "True", 2), cond("ResolvedRefs", "False", 2))}, "ResolvedRefs is False"},
		{"no ResolvedRefs", []any{parent("gw", cond("Accepted", "True", 2))}, "no ResolvedRefs condition"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := o.renderRoute("m", weights{stable: 100}, "")
			r.SetGeneration(2)
			if c.parents != nil {
				_ = unstructured.SetNestedSlice(r.Object, c.parents, "status", "parents")
			}
			got := o.routeAccepted(r)
			if c.want == "" && got != "" || c.want != "" && !strings.Contains(got, c.want) {
				t.Errorf("routeAccepted = %q, want %q", got, c.want)
			}
		})
	}
}

// TestVirtualServiceRoute: the VirtualService kind renders Istio's
// weighted destinations and reads them back, and waits on Istio's
// Reconciled condition only when istiod reports one.
func TestVirtualServiceRoute(t *testing.T) {
	o := Options{ProductionNamespace: "mlops", Route: Route{Kind: RouteVirtualService, Gateway: "istio-system/public", Hostnames: []string{"models.example.com"}}}
	r := o.renderRoute("m", weights{stable: 80, canary: 20}, "")
	if r.GetKind() != "VirtualService" || r.GetName() != "m-modelgate" {
		t.Fatalf("rendered %s %s", r.GetKind(), r.GetName())
	}
	https, _, _ := unstructuredSlice(r.Object, "spec", "http")
	routes, _, _ := unstructuredSlice(https[0], "route")
	if host := routes[1]["destination"].(map[string]any)["host"]; host != "m-canary-predictor.mlops.svc.cluster.local" {
		t.Errorf("canary destination %v", host)
	}
	if w := o.routeWeights(r, "m"); w.stable != 80 || w.canary != 20 {
		t.Errorf("weights read back %v", w)
	}
	if why := o.routeAccepted(r); why != "" {
		t.Errorf("without Istio's status: %q, want nothing to wait for", why)
	}
	r.SetGeneration(3)
	_ = unstructured.SetNestedField(r.Object, "2", "status", "observedGeneration")
	_ = unstructured.SetNestedSlice(r.Object, []any{map[string]any{"type": "Reconciled", "status": "True"}}, "status", "conditions")
	if why := o.routeAccepted(r); !strings.Contains(why, "generation 2, not 3") {
		t.Errorf("stale Reconciled: %q", why)
	}
	_ = unstructured.SetNestedField(r.Object, int64(3), "status", "observedGeneration")
	if why := o.routeAccepted(r); why != "" {
		t.Errorf("reconciled: %q", why)
	}
}
