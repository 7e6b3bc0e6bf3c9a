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

// AnnotationSplit and AnnotationSplitSince, on raw mode's route, are the
// split it was rendered for ("stable=V1:90 canary=V2:10") and when that
// split was first applied (RFC 3339), kept while the split stays the same:
// the start of the window metrics are read over. The route is modelgate's
// own, so unlike the InferenceService's annotations (which KServe copies
// into the pods' template) they can change at every step.
const (
	AnnotationSplit      = "modelgate.dev/split"
	AnnotationSplitSince = "modelgate.dev/split-since"
)

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

// router is one kind of route (Route.Kind): how it is rendered, how its
// split is read back and how its status says it is in effect.
type router interface {
	// resource is the route's API resource.
	resource() schema.GroupVersionResource
	// render returns the route's apiVersion, kind and spec sending w to
	// the predictor Services of isvc and its canary.
	render(o Options, isvc string, w weights) *unstructured.Unstructured
	// weights reads the split back, by Service name.
	weights(route *unstructured.Unstructured) map[string]int64
	// accepted returns why the route's current spec is not in effect yet
	// ("" when it is).
	accepted(o Options, route *unstructured.Unstructured) string
}

func (o Options) router() router {
	if o.Route.Kind == RouteVirtualService {
		return virtualService{}
	}
	return httpRoute{}
}

// backend is a Service a route sends a share of the traffic to.
type backend struct {
	service string
	weight  int64
}

// backends are the Services a split sends traffic to, 0% left out: a
// reference to a Service that no longer exists (the canary after a
// promotion or a rollback) would make a route's references unresolved.
func backends(isvc string, w weights) []backend {
	var out []backend
	for _, b := range []backend{{PredictorName(isvc), w.stable}, {PredictorName(CanaryName(isvc)), w.canary}} {
		if b.weight > 0 {
			out = append(out, b)
		}
	}
	return out
}

// renderRoute returns the route sending w to the predictor Services of
// isvc and its canary, labelled and annotated with split.
func (o Options) renderRoute(isvc string, w weights, split string) *unstructured.Unstructured {
	obj := o.router().render(o, isvc, w)
	obj.Object["metadata"] = map[string]any{
		"name":        o.routeName(isvc),
		"namespace":   o.ProductionNamespace,
		"labels":      map[string]any{"app.kubernetes.io/managed-by": "modelgate", labelISVC: isvc},
		"annotations": map[string]any{AnnotationSplit: split},
	}
	return obj
}

// routeWeights reads the route's weights as percentages of their sum
// (weights are proportions).
func (o Options) routeWeights(route *unstructured.Unstructured, isvc string) weights {
	raw := o.router().weights(route)
	var sum int64
	for _, n := range raw {
		sum += n
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

// routeAccepted returns why the route's current spec is not in effect yet.
func (o Options) routeAccepted(route *unstructured.Unstructured) string {
	return o.router().accepted(o, route)
}

// httpRoute is the Gateway API's HTTPRoute (gateway.networking.k8s.io/v1).
type httpRoute struct{}

func (httpRoute) resource() schema.GroupVersionResource { return HTTPRouteGVR }

// render: one rule whose backendRefs are the predictor Services, under the
// Gateway platform.route.gateway.
func (httpRoute) render(o Options, isvc string, w weights) *unstructured.Unstructured {
	gwNS, gwName, _ := strings.Cut(o.Route.Gateway, "/")
	var refs []any
	for _, b := range backends(isvc, w) {
		refs = append(refs, map[string]any{"group": "", "kind": "Service", "name": b.service, "port": int64(PredictorPort), "weight": b.weight})
	}
	spec := map[string]any{
		"parentRefs": []any{map[string]any{"group": "gateway.networking.k8s.io", "kind": "Gateway", "namespace": gwNS, "name": gwName}},
		"rules":      []any{map[string]any{"backendRefs": refs}},
	}
	if len(o.Route.Hostnames) > 0 {
		spec["hostnames"] = toAnySlice(o.Route.Hostnames)
	}
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": HTTPRouteGVR.GroupVersion().String(), "kind": "HTTPRoute", "spec": spec,
	}}
}

// weights: an absent weight is 1 (the Gateway API's default).
func (httpRoute) weights(route *unstructured.Unstructured) map[string]int64 {
	raw := map[string]int64{}
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
		}
	}
	return raw
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

// accepted returns why the Gateway has not accepted the route's current
// spec yet ("" when it has): its entry in status.parents must have
// Accepted and ResolvedRefs True, both observed at metadata.generation, so
// an acceptance of earlier weights does not count.
func (httpRoute) accepted(o Options, route *unstructured.Unstructured) string {
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
	obj, err := d.dyn.Resource(d.opts.router().resource()).Namespace(ns).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, d.apiError(err, "read %s %s/%s", d.opts.router().resource().Resource, ns, name)
	}
	return obj, nil
}

// setRoute applies the route with w and waits until it is in effect (for
// an HTTPRoute: the Gateway accepted it) and the backends it names exist. split names the versions for
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
	if _, err := d.applyResource(ctx, d.opts.router().resource(), obj, false); err != nil {
		return err
	}
	return d.waitFor(ctx, obj.GetKind()+" "+obj.GetNamespace()+"/"+obj.GetName(), func(ctx context.Context) (string, error) {
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
	if got := d.opts.routeWeights(route, isvc); got.String() != w.String() {
		return fmt.Sprintf("%s %s sends %s, not %s", route.GetKind(), route.GetName(), got, w), nil
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
