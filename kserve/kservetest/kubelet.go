package kservetest

import (
	"context"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
)

var deploymentGVR = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}

// standInPoll is how often the stand-ins look at the API server.
const standInPoll = 200 * time.Millisecond

// Kubelet stands in for what a cluster's nodes and the kube-controller-
// manager's Deployment controller would report about a Deployment: no
// ReplicaSet, pod or container runs behind a test API server, so it writes
// the status a rolled-out Deployment has (every replica updated, ready and
// available; Available and Progressing true) for the Deployment's current
// generation. It writes Deployment status and nothing else: KServe's
// controller reads it and decides the InferenceService's readiness itself.
// A Deployment whose pod template carries a held version (Hold) is
// reported as rolled out but unavailable, as when its pods crash.
type Kubelet struct {
	dyn dynamic.Interface

	mu   sync.Mutex
	held map[string]bool // modelgate.dev/version values
}

// NewKubelet returns a stand-in; start it with Run.
func NewKubelet(dyn dynamic.Interface) *Kubelet {
	return &Kubelet{dyn: dyn, held: map[string]bool{}}
}

// Hold keeps every Deployment of version (its pod template's
// modelgate.dev/version label) unavailable from now on.
func (k *Kubelet) Hold(version string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.held[version] = true
}

func (k *Kubelet) isHeld(version string) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.held[version]
}

// Run reports Deployments' status until ctx ends.
func (k *Kubelet) Run(ctx context.Context) {
	t := time.NewTicker(standInPoll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		list, err := k.dyn.Resource(deploymentGVR).List(ctx, metav1.ListOptions{})
		if err != nil {
			continue
		}
		for i := range list.Items {
			k.report(ctx, &list.Items[i])
		}
	}
}

// report writes d's status when it does not describe d's generation, or
// its availability changed.
func (k *Kubelet) report(ctx context.Context, d *unstructured.Unstructured) {
	version, _, _ := unstructured.NestedString(d.Object, "spec", "template", "metadata", "labels", "modelgate.dev/version")
	want := deploymentStatus(d, !k.isHeld(version))
	observed, _, _ := unstructured.NestedInt64(d.Object, "status", "observedGeneration")
	available, _, _ := unstructured.NestedInt64(d.Object, "status", "availableReplicas")
	if observed == d.GetGeneration() && available == want["availableReplicas"] {
		return
	}
	d.Object["status"] = want
	_, _ = k.dyn.Resource(deploymentGVR).Namespace(d.GetNamespace()).UpdateStatus(ctx, d, metav1.UpdateOptions{})
}

// deploymentStatus is the status of d once rolled out, its replicas
// available or not.
func deploymentStatus(d *unstructured.Unstructured, available bool) map[string]any {
	replicas, found, _ := unstructured.NestedInt64(d.Object, "spec", "replicas")
	if !found {
		replicas = 1
	}
	now := time.Now().UTC().Format(time.RFC3339)
	avail, ready, unavailable := replicas, replicas, int64(0)
	availCond := map[string]any{"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable",
		"message": "Deployment has minimum availability.", "lastTransitionTime": now, "lastUpdateTime": now}
	if !available {
		avail, ready, unavailable = 0, 0, replicas
		availCond["status"], availCond["reason"] = "False", "MinimumReplicasUnavailable"
		availCond["message"] = "Deployment does not have minimum availability."
	}
	return map[string]any{
		"observedGeneration":  d.GetGeneration(),
		"replicas":            replicas,
		"updatedReplicas":     replicas,
		"readyReplicas":       ready,
		"availableReplicas":   avail,
		"unavailableReplicas": unavailable,
		"conditions": []any{availCond, map[string]any{"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable",
			"message": "ReplicaSet has successfully progressed.", "lastTransitionTime": now, "lastUpdateTime": now}},
	}
}
