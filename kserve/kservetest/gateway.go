package kservetest

import (
	"context"
	"fmt"
	"reflect"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
)

// HTTPRoute is the Gateway API's HTTPRoute resource.
var HTTPRoute = schema.GroupVersionResource{Group: "gateway.networking.k8s.io", Version: "v1", Resource: "httproutes"}

// GatewayControllerName is the controllerName the stand-in writes in
// HTTPRoute status.
const GatewayControllerName = "modelgate.dev/test-gateway"

// Gateway is a stand-in for a Gateway API implementation's route status,
// since no gateway runs next to a test API server. For every HTTPRoute and
// each of its parentRefs of kind Gateway it writes, through the status
// subresource, a status.parents entry with Accepted True and ResolvedRefs
// True when every backendRef's Service exists (else False, reason
// BackendNotFound), both observed at the route's current generation.
//
// That is all it does: it routes no traffic, does not check that the
// Gateway exists or allows the route, and writes nothing but HTTPRoute
// status, so what modelgate reads from the route is what a real gateway
// would report for a route it accepts.
type Gateway struct {
	dyn dynamic.Interface
	// Interval is how often routes are read. Default 100 ms.
	Interval time.Duration
}

// NewGateway returns the stand-in; start it with Run.
func NewGateway(dyn dynamic.Interface) *Gateway {
	return &Gateway{dyn: dyn, Interval: 100 * time.Millisecond}
}

// Run writes route status until ctx ends.
func (g *Gateway) Run(ctx context.Context) {
	_ = g.reconcileAll(ctx)
	everyPoll(ctx, g.Interval, func() { _ = g.reconcileAll(ctx) })
}

func (g *Gateway) reconcileAll(ctx context.Context) error {
	list, err := g.dyn.Resource(HTTPRoute).List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	for i := range list.Items {
		if err := g.reconcile(ctx, &list.Items[i]); err != nil {
			return err
		}
	}
	return nil
}

// reconcile writes route's status when it differs from what it should be.
func (g *Gateway) reconcile(ctx context.Context, route *unstructured.Unstructured) error {
	resolved, reason, msg, err := g.backendsExist(ctx, route)
	if err != nil {
		return err
	}
	parents := g.parents(route, resolved, reason, msg)
	old, _, _ := unstructured.NestedSlice(route.Object, "status", "parents")
	if sameIgnoringTimes(old, parents) {
		return nil
	}
	if err := unstructured.SetNestedSlice(route.Object, parents, "status", "parents"); err != nil {
		return err
	}
	_, err = g.dyn.Resource(HTTPRoute).Namespace(route.GetNamespace()).UpdateStatus(ctx, route, metav1.UpdateOptions{})
	if apierrors.IsConflict(err) || apierrors.IsNotFound(err) {
		return nil // changed or gone meanwhile: the next pass sees it
	}
	return err
}

// backendsExist reports whether every backendRef (kind Service) names an
// existing Service.
func (g *Gateway) backendsExist(ctx context.Context, route *unstructured.Unstructured) (bool, string, string, error) {
	rules, _, _ := unstructured.NestedSlice(route.Object, "spec", "rules")
	for _, r := range rules {
		refs, _, _ := unstructured.NestedSlice(r.(map[string]any), "backendRefs")
		for _, ref := range refs {
			b := ref.(map[string]any)
			if k, _ := b["kind"].(string); k != "" && k != "Service" {
				return false, "InvalidKind", fmt.Sprintf("backend kind %s is not supported", k), nil
			}
			ns, _ := b["namespace"].(string)
			if ns == "" {
				ns = route.GetNamespace()
			}
			name, _ := b["name"].(string)
			_, err := g.dyn.Resource(schema.GroupVersionResource{Version: "v1", Resource: "services"}).Namespace(ns).Get(ctx, name, metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				return false, "BackendNotFound", fmt.Sprintf("Service %s/%s not found", ns, name), nil
			}
			if err != nil {
				return false, "", "", err
			}
		}
	}
	return true, "ResolvedRefs", "", nil
}

// parents is the status.parents the stand-in writes for route.
func (g *Gateway) parents(route *unstructured.Unstructured, resolved bool, reason, msg string) []any {
	gen, now := route.GetGeneration(), time.Now().UTC().Format(time.RFC3339)
	refs, _, _ := unstructured.NestedSlice(route.Object, "spec", "parentRefs")
	var out []any
	for _, r := range refs {
		ref := r.(map[string]any)
		if k, _ := ref["kind"].(string); k != "" && k != "Gateway" {
			continue
		}
		status := "False"
		if resolved {
			status = "True"
		}
		out = append(out, map[string]any{
			"parentRef":      ref,
			"controllerName": GatewayControllerName,
			"conditions": []any{
				map[string]any{"type": "Accepted", "status": "True", "reason": "Accepted", "message": "", "observedGeneration": gen, "lastTransitionTime": now},
				map[string]any{"type": "ResolvedRefs", "status": status, "reason": reason, "message": msg, "observedGeneration": gen, "lastTransitionTime": now},
			},
		})
	}
	return out
}

// sameIgnoringTimes compares status.parents without lastTransitionTime, so
// an unchanged status is not rewritten every pass.
func sameIgnoringTimes(a, b []any) bool {
	strip := func(s []any) []any {
		out := make([]any, len(s))
		for i, p := range s {
			pm := runtime.DeepCopyJSONValue(p).(map[string]any)
			conds, _ := pm["conditions"].([]any)
			for _, c := range conds {
				delete(c.(map[string]any), "lastTransitionTime")
			}
			out[i] = pm
		}
		return out
	}
	return reflect.DeepEqual(normalize(strip(a)), normalize(strip(b)))
}
