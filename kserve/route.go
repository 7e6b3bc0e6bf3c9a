package kserve

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// The resources raw mode reads and writes besides InferenceServices.
var (
	HTTPRouteGVR   = schema.GroupVersionResource{Group: "gateway.networking.k8s.io", Version: "v1", Resource: "httproutes"}
	servicesGVR    = schema.GroupVersionResource{Version: "v1", Resource: "services"}
	deploymentsGVR = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}
)

// PredictorPort is the port of the predictor Service KServe creates in
// RawDeployment mode (constants.CommonDefaultHttpPort in kserve v0.20.0,
// reconcilers/service/service_reconciler.go).
const PredictorPort = 80

// AnnotationSplit, on the route, is the split it was rendered for
// ("stable=V1:90 canary=V2:10"): AnnotationSplitSince is kept while it
// stays the same.
const AnnotationSplit = "modelgate.dev/split"

// CanaryName is the candidate's InferenceService in raw mode, next to the
// stable one (name) in production's namespace.
func CanaryName(name string) string { return name + "-canary" }

// PredictorName is the predictor Deployment and Service KServe creates for
// the InferenceService isvc in RawDeployment mode
// (constants.PredictorServiceName in kserve v0.20.0). It is also the
// revision name raw mode reports for metrics: Istio labels the series by
// Deployment (destination_workload).
func PredictorName(isvc string) string { return isvc + "-predictor" }

// RouteName is the name of model's route in raw mode.
func (o Options) RouteName(model string) string {
	return o.routeName(o.ServiceName(model))
}

func (o Options) routeName(isvc string) string {
	tmpl := o.Route.Name
	if tmpl == "" {
		tmpl = "{name}-modelgate"
	}
	return strings.ReplaceAll(tmpl, "{name}", isvc)
}

// weights is the route's split in percent: the stable InferenceService's
// predictor, the candidate's, and any backend modelgate did not write (by
// Service name).
type weights struct {
	stable, canary int64
	other          map[string]int64
}

func (w weights) String() string {
	s := fmt.Sprintf("stable %d%%, canary %d%%", w.stable, w.canary)
	for _, k := range sortedKeys64(w.other) {
		s += fmt.Sprintf(", %s %d%%", k, w.other[k])
	}
	return s
}

// renderRoute returns the HTTPRoute sending w to the predictor Services
// of isvc and its canary. A backend at 0% is left out: a reference to a
// Service that no longer exists (the canary after a promotion or a
// rollback) would make the route's ResolvedRefs False.
func (o Options) renderRoute(isvc string, w weights, split string) *unstructured.Unstructured {
	gwNS, gwName, _ := strings.Cut(o.Route.Gateway, "/")
	var backends []any
	for _, b := range []struct {
		isvc   string
		weight int64
	}{{isvc, w.stable}, {CanaryName(isvc), w.canary}} {
		if b.weight > 0 {
			backends = append(backends, map[string]any{
				"group": "", "kind": "Service", "name": PredictorName(b.isvc), "port": int64(PredictorPort), "weight": b.weight,
			})
		}
	}
	spec := map[string]any{
		"parentRefs": []any{map[string]any{"group": "gateway.networking.k8s.io", "kind": "Gateway", "namespace": gwNS, "name": gwName}},
		"rules":      []any{map[string]any{"backendRefs": backends}},
	}
	if len(o.Route.Hostnames) > 0 {
		spec["hostnames"] = toAnySlice(o.Route.Hostnames)
	}
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": HTTPRouteGVR.GroupVersion().String(),
		"kind":       "HTTPRoute",
		"metadata": map[string]any{
			"name":        o.routeName(isvc),
			"namespace":   o.ProductionNamespace,
			"labels":      map[string]any{"app.kubernetes.io/managed-by": "modelgate", labelISVC: isvc},
			"annotations": map[string]any{AnnotationSplit: split},
		},
		"spec": spec,
	}}
}

// routeWeights reads the route's backend weights as percentages of their
// sum (Gateway API weights are proportions; an absent weight is 1).
func routeWeights(route *unstructured.Unstructured, isvc string) weights {
	raw := map[string]int64{}
	var sum int64
	rules, _, _ := unstructuredSlice(route.Object, "spec", "rules")
	for _, r := range rules {
		refs, _, _ := unstructuredSlice(r, "backendRefs")
		for _, b := range refs {
			name, _ := b["name"].(string)
			w, ok := b["weight"].(int64)
			if !ok {
				w = 1
			}
			raw[name] += w
			sum += w
		}
	}
	w := weights{other: map[string]int64{}}
	if sum == 0 {
		return w
	}
	for name, n := range raw {
		pct := n * 100 / sum
		switch name {
		case PredictorName(isvc):
			w.stable = pct
		case PredictorName(CanaryName(isvc)):
			w.canary = pct
		default:
			w.other[name] = pct
		}
	}
	return w
}

// routeStatus is the part of an HTTPRoute's status modelgate reads.
type routeStatus struct {
	Parents []struct {
		ParentRef struct {
			Namespace string `json:"namespace"`
			Name      string `json:"name"`
		} `json:"parentRef"`
		ControllerName string `json:"controllerName"`
		Conditions     []struct {
			condition
			ObservedGeneration int64 `json:"observedGeneration"`
		} `json:"conditions"`
	} `json:"parents"`
}

// routeAccepted returns why the Gateway has not accepted the route's
// current spec yet ("" when it has): its entry in status.parents must have
// Accepted and ResolvedRefs True, both observed at metadata.generation, so
// an acceptance of earlier weights does not count.
func (o Options) routeAccepted(route *unstructured.Unstructured) string {
	var st routeStatus
	if raw, ok := route.Object["status"]; ok {
		b, _ := json.Marshal(raw)
		if err := json.Unmarshal(b, &st); err != nil {
			return fmt.Sprintf("cannot decode the status of HTTPRoute %s: %v", route.GetName(), err)
		}
	}
	gwNS, gwName, _ := strings.Cut(o.Route.Gateway, "/")
	gen := route.GetGeneration()
	for _, p := range st.Parents {
		ns := p.ParentRef.Namespace
		if ns == "" {
			ns = route.GetNamespace()
		}
		if p.ParentRef.Name != gwName || ns != gwNS {
			continue
		}
		for _, t := range []string{"Accepted", "ResolvedRefs"} {
			why := fmt.Sprintf("HTTPRoute %s has no %s condition from Gateway %s", route.GetName(), t, o.Route.Gateway)
			for _, c := range p.Conditions {
				switch {
				case c.Type != t:
					continue
				case c.ObservedGeneration != gen:
					why = fmt.Sprintf("HTTPRoute %s: %s describes generation %d, not %d", route.GetName(), t, c.ObservedGeneration, gen)
				case c.Status != "True":
					why = fmt.Sprintf("HTTPRoute %s: %s is %s (%s: %s)", route.GetName(), t, c.Status, c.Reason, c.Message)
				default:
					why = ""
				}
			}
			if why != "" {
				return why
			}
		}
		return ""
	}
	return fmt.Sprintf("Gateway %s has not reported on HTTPRoute %s (no status.parents entry for it; is the Gateway's controller running?)", o.Route.Gateway, route.GetName())
}

// getRoute returns the route of the InferenceService isvc, or nil.
func (d *Deployer) getRoute(ctx context.Context, isvc string) (*unstructured.Unstructured, error) {
	ns, name := d.opts.ProductionNamespace, d.opts.routeName(isvc)
	obj, err := d.dyn.Resource(HTTPRouteGVR).Namespace(ns).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, d.apiError(err, "read HTTPRoute %s/%s", ns, name)
	}
	return obj, nil
}

// setRoute applies the route with w and waits until the Gateway accepts
// it and the backends it names exist. split names the versions for
// AnnotationSplit; AnnotationSplitSince is kept from the current route
// when split is unchanged.
func (d *Deployer) setRoute(ctx context.Context, isvc string, w weights, split string) error {
	cur, err := d.getRoute(ctx, isvc)
	if err != nil {
		return err
	}
	obj := d.opts.renderRoute(isvc, w, split)
	since := d.now().UTC().Format(time.RFC3339)
	if cur != nil && cur.GetAnnotations()[AnnotationSplit] == split && cur.GetAnnotations()[AnnotationSplitSince] != "" {
		since = cur.GetAnnotations()[AnnotationSplitSince]
	}
	a := obj.GetAnnotations()
	a[AnnotationSplitSince] = since
	obj.SetAnnotations(a)
	if _, err := d.applyResource(ctx, HTTPRouteGVR, obj, false); err != nil {
		return err
	}
	return d.waitFor(ctx, "HTTPRoute "+obj.GetNamespace()+"/"+obj.GetName(), func(ctx context.Context) (string, error) {
		return d.routeServing(ctx, isvc, w)
	})
}

// routeServing returns why the route does not serve w yet: its spec has
// other weights, the Gateway has not accepted its generation, or a backend
// Service does not exist.
func (d *Deployer) routeServing(ctx context.Context, isvc string, w weights) (string, error) {
	route, err := d.getRoute(ctx, isvc)
	if err != nil || route == nil {
		return "the route does not exist", err
	}
	if got := routeWeights(route, isvc); got.String() != w.String() {
		return fmt.Sprintf("HTTPRoute %s sends %s, not %s", route.GetName(), got, w), nil
	}
	if why := d.opts.routeAccepted(route); why != "" {
		return why, nil
	}
	for _, b := range []struct {
		isvc   string
		weight int64
	}{{isvc, w.stable}, {CanaryName(isvc), w.canary}} {
		if b.weight == 0 {
			continue
		}
		svc := PredictorName(b.isvc)
		_, err := d.dyn.Resource(servicesGVR).Namespace(route.GetNamespace()).Get(ctx, svc, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return fmt.Sprintf("backend Service %s does not exist", svc), nil
		}
		if err != nil {
			return "", d.apiError(err, "read Service %s/%s", route.GetNamespace(), svc)
		}
	}
	return "", nil
}

// splitOf writes a split for AnnotationSplit.
func splitOf(stableVersion, canaryVersion string, w weights) string {
	if w.canary == 0 {
		return fmt.Sprintf("stable=%s:%d", stableVersion, w.stable)
	}
	return fmt.Sprintf("stable=%s:%d canary=%s:%d", stableVersion, w.stable, canaryVersion, w.canary)
}

func sortedKeys64(m map[string]int64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
