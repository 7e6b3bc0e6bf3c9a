package kservetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
)

// The stand-ins play, for Knative's objects only, what no node, cluster
// controller manager or networking layer does in the test cluster. None
// writes the status of a Knative Service, Configuration, Route or
// Revision, or of an InferenceService: those are the real controllers'.
// They poll (every standInPeriod) rather than watch; Knative's informers
// see their writes as they would a kubelet's.
//
//   - Revision pods (knative_pods.go): the Deployment and ReplicaSet
//     controllers and the kubelet for Deployments labelled
//     serving.knative.dev/revision.
//   - Private Service endpoints (knative_endpoints.go): the endpoints
//     controller for the revisions' private Services.
//   - The activator's endpoints: Endpoints activator-service in
//     knative-serving with no addresses, so the ServerlessService
//     reconciler (which must find them) sees that no activator runs,
//     which is so, and routes to the revision's pods.
//   - KIngress status (markIngresses below): the networking layer
//     (net-istio, Kourier) for networking.internal.knative.dev Ingresses.
const standInPeriod = 200 * time.Millisecond

// revisionLabel marks the Deployments (and their pods) Knative's
// revision reconciler creates.
const revisionLabel = "serving.knative.dev/revision"

// standIns holds the stand-ins' state between passes.
type standIns struct {
	mu      sync.Mutex
	lastErr error
	podIPs  int             // pod addresses handed out
	crash   map[string]bool // images whose pods crash (Crash)
}

// runStandIns starts the stand-ins; Stop ends them.
func (k *Knative) runStandIns(ctx context.Context) {
	k.standIn.Add(1)
	go func() {
		defer k.standIn.Done()
		t := time.NewTicker(standInPeriod)
		defer t.Stop()
		for {
			k.standInPass(ctx)
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
}

// standInPass runs each stand-in once; an error is kept for
// StandInError (conflicts with the real controllers' writes are retried
// on the next pass and not kept).
func (k *Knative) standInPass(ctx context.Context) {
	err := errors.Join(k.runRevisionPods(ctx), k.runPrivateEndpoints(ctx), k.markIngresses(ctx))
	if ctx.Err() != nil || apierrors.IsConflict(err) {
		return
	}
	k.state.mu.Lock()
	defer k.state.mu.Unlock()
	if err != nil {
		k.state.lastErr = err
	}
}

// StandInError is the last error of a stand-in (nil if none failed), for
// failure messages.
func (k *Knative) StandInError() error {
	k.state.mu.Lock()
	defer k.state.mu.Unlock()
	return k.state.lastErr
}

// createActivatorEndpoints creates the activator's empty Endpoints.
func (k *Knative) createActivatorEndpoints(ctx context.Context) error {
	eps := &corev1.Endpoints{ObjectMeta: metav1.ObjectMeta{Name: "activator-service", Namespace: KnativeNamespace}}
	if _, err := k.c.Kube.CoreV1().Endpoints(KnativeNamespace).Create(ctx, eps, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create the activator's endpoints: %w", err)
	}
	return nil
}

// The load balancers markIngresses reports: net-istio's gateways'
// in-cluster names. Nothing resolves or dials them here.
const (
	publicGateway  = "istio-ingressgateway.istio-system.svc.cluster.local"
	privateGateway = "knative-local-gateway.istio-system.svc.cluster.local"
)

// markIngresses plays the networking layer: a KIngress whose current
// generation it has not marked becomes Ready (LoadBalancerReady,
// NetworkConfigured) with net-istio's load balancers, as net-istio
// reports once its gateways are programmed. It routes nothing.
func (k *Knative) markIngresses(ctx context.Context) error {
	list, err := k.c.Dyn.Resource(KnativeIngress).Namespace("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Errorf("list KIngresses: %w", err)
	}
	var errs []error
	for i := range list.Items {
		ing := &list.Items[i]
		if observed, _, _ := unstructured.NestedInt64(ing.Object, "status", "observedGeneration"); observed == ing.GetGeneration() {
			continue
		}
		now := time.Now().UTC().Format(time.RFC3339)
		var conds []any
		for _, t := range []string{"LoadBalancerReady", "NetworkConfigured", "Ready"} {
			conds = append(conds, map[string]any{"type": t, "status": "True", "lastTransitionTime": now})
		}
		lb := func(domain string) map[string]any {
			return map[string]any{"ingress": []any{map[string]any{"domainInternal": domain}}}
		}
		ing.Object["status"] = map[string]any{
			"observedGeneration":  ing.GetGeneration(),
			"conditions":          conds,
			"publicLoadBalancer":  lb(publicGateway),
			"privateLoadBalancer": lb(privateGateway),
		}
		if _, err := k.c.Dyn.Resource(KnativeIngress).Namespace(ing.GetNamespace()).UpdateStatus(ctx, ing, metav1.UpdateOptions{}); err != nil {
			errs = append(errs, fmt.Errorf("mark KIngress %s/%s ready: %w", ing.GetNamespace(), ing.GetName(), err))
		}
	}
	return errors.Join(errs...)
}

// selectPods lists the pods in ns that sel selects, oldest first.
func (k *Knative) selectPods(ctx context.Context, ns string, sel map[string]string) ([]corev1.Pod, error) {
	list, err := k.c.Kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: labels.SelectorFromSet(sel).String()})
	if err != nil {
		return nil, fmt.Errorf("list pods in %s: %w", ns, err)
	}
	pods := list.Items
	slices.SortFunc(pods, func(a, b corev1.Pod) int { return a.CreationTimestamp.Compare(b.CreationTimestamp.Time) })
	return pods, nil
}

// podReady reports whether a pod is running and ready.
func podReady(p *corev1.Pod) bool {
	if p.DeletionTimestamp != nil || p.Status.Phase != corev1.PodRunning {
		return false
	}
	return slices.ContainsFunc(p.Status.Conditions, func(c corev1.PodCondition) bool {
		return c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue
	})
}

// fromUnstructured converts u into the typed object out.
func fromUnstructured(u *unstructured.Unstructured, out any) error {
	return runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, out)
}
