package kservetest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
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
// manager's Deployment and ReplicaSet controllers do with a Deployment: no
// controller manager, node or container runs behind a test API server, so
// it writes the status a rolled-out Deployment has (every replica updated,
// ready and available; Available and Progressing true) for the
// Deployment's current generation, and keeps one Running pod object per
// replica of its current template (labelled as the template says, plus
// StandInLabel; the pods of an older template are deleted), so that
// whatever looks pods up by label finds them. It writes Deployments'
// status and pods, nothing else: KServe's controller reads the Deployment
// and decides the InferenceService's readiness itself. A Deployment whose
// pod template carries a held version (Hold) is reported as rolled out but
// unavailable, as when its pods crash.
type Kubelet struct {
	dyn dynamic.Interface

	mu      sync.Mutex
	held    map[string]bool    // modelgate.dev/version values
	rollout map[string]rollout // namespace/name → the rollout of its current generation
}

// rollout is how far the stand-in has taken a Deployment's generation.
type rollout struct {
	generation int64
	polls      int  // polls since the generation was first seen
	update     bool // replacing available pods of an older template
}

// rolloutPolls is how many polls a rollout stays in progress: a new
// generation first reports its new pods starting (and, in an update, the
// old ones still available, one surge pod more, as with KServe's 25%/25%
// rolling update), so that readiness checks see what kubectl rollout
// status sees in between.
const rolloutPolls = 3

// NewKubelet returns a stand-in; start it with Run.
func NewKubelet(dyn dynamic.Interface) *Kubelet {
	return &Kubelet{dyn: dyn, held: map[string]bool{}, rollout: map[string]rollout{}}
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
	everyPoll(ctx, standInPoll, func() { k.pass(ctx) })
}

// pass looks at every Deployment once.
func (k *Kubelet) pass(ctx context.Context) {
	list, err := k.dyn.Resource(deploymentGVR).List(ctx, metav1.ListOptions{})
	if err != nil {
		return
	}
	pods, err := k.dyn.Resource(podGVR).List(ctx, metav1.ListOptions{LabelSelector: StandInLabel})
	if err != nil {
		return
	}
	byDeployment := map[string][]string{} // namespace/deployment → pod names
	for _, p := range pods.Items {
		key := p.GetNamespace() + "/" + p.GetLabels()[StandInLabel]
		byDeployment[key] = append(byDeployment[key], p.GetName())
	}
	for i := range list.Items {
		d := &list.Items[i]
		if _, ok := d.GetLabels()[knativeRevisionLabel]; ok {
			continue // Knative's revision Deployments are StartKnative's pod stand-in's
		}
		k.report(ctx, d)
		k.syncPods(ctx, d, byDeployment[d.GetNamespace()+"/"+d.GetName()])
	}
}

// everyPoll calls pass every interval until ctx ends: the stand-ins poll
// rather than watch, which is simpler and fast enough for a test.
func everyPoll(ctx context.Context, interval time.Duration, pass func()) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			pass()
		}
	}
}

// report writes d's status when it does not describe d's generation, or
// its availability changed.
func (k *Kubelet) report(ctx context.Context, d *unstructured.Unstructured) {
	version, _, _ := unstructured.NestedString(d.Object, "spec", "template", "metadata", "labels", "modelgate.dev/version")
	want := deploymentStatus(d, !k.isHeld(version))
	if r := k.advance(d); r.polls < rolloutPolls {
		want = progressingStatus(d, r.update)
	}
	observed, _, _ := unstructured.NestedInt64(d.Object, "status", "observedGeneration")
	replicas, _, _ := unstructured.NestedInt64(d.Object, "status", "replicas")
	available, _, _ := unstructured.NestedInt64(d.Object, "status", "availableReplicas")
	if observed == d.GetGeneration() && available == want["availableReplicas"] && replicas == want["replicas"] {
		return
	}
	d.Object["status"] = want
	_, _ = k.dyn.Resource(deploymentGVR).Namespace(d.GetNamespace()).UpdateStatus(ctx, d, metav1.UpdateOptions{})
}

// knativeRevisionLabel marks the Deployments of Knative's revisions.
const knativeRevisionLabel = "serving.knative.dev/revision"

// StandInLabel marks the pods the Kubelet stand-in created, with the name
// of their Deployment.
const StandInLabel = "kservetest.modelgate.dev/deployment"

var podGVR = schema.GroupVersionResource{Version: "v1", Resource: "pods"}

// syncPods keeps d's replicas as pods of its current template: created
// Running and Ready, those of an older template deleted.
// existing names the stand-in pods d has.
func (k *Kubelet) syncPods(ctx context.Context, d *unstructured.Unstructured, existing []string) {
	tmpl, _, _ := unstructured.NestedMap(d.Object, "spec", "template")
	prefix := d.GetName() + "-" + templateHash(tmpl) + "-"
	for _, name := range existing {
		if !strings.HasPrefix(name, prefix) {
			_ = k.dyn.Resource(podGVR).Namespace(d.GetNamespace()).Delete(ctx, name, metav1.DeleteOptions{})
		}
	}
	replicas, found, _ := unstructured.NestedInt64(d.Object, "spec", "replicas")
	if !found {
		replicas = 1
	}
	for i := range replicas {
		if name := fmt.Sprintf("%s%d", prefix, i); !slices.Contains(existing, name) {
			k.createPod(ctx, d, tmpl, name)
		}
	}
}

func (k *Kubelet) createPod(ctx context.Context, d *unstructured.Unstructured, tmpl map[string]any, name string) {
	pods := k.dyn.Resource(podGVR).Namespace(d.GetNamespace())
	labels, _, _ := unstructured.NestedStringMap(tmpl, "metadata", "labels")
	if labels == nil {
		labels = map[string]string{}
	}
	labels[StandInLabel] = d.GetName()
	spec, _, _ := unstructured.NestedMap(tmpl, "spec")
	pod := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Pod", "spec": spec}}
	pod.SetName(name)
	pod.SetLabels(labels)
	created, err := pods.Create(ctx, pod, metav1.CreateOptions{})
	if err != nil {
		return // already there, or refused: nothing a stand-in can fix
	}
	now := time.Now().UTC().Format(time.RFC3339)
	created.Object["status"] = map[string]any{"phase": "Running", "startTime": now, "conditions": []any{
		map[string]any{"type": "Ready", "status": "True", "lastTransitionTime": now},
		map[string]any{"type": "ContainersReady", "status": "True", "lastTransitionTime": now},
	}}
	_, _ = pods.UpdateStatus(ctx, created, metav1.UpdateOptions{})
}

// templateHash is a short hash of a pod template, as a name part.
func templateHash(tmpl map[string]any) string {
	raw, _ := json.Marshal(tmpl)
	sum := sha256.Sum256(raw)
	return hex.EncodeToString(sum[:])[:10]
}

// advance counts one more poll of d's current generation.
func (k *Kubelet) advance(d *unstructured.Unstructured) rollout {
	k.mu.Lock()
	defer k.mu.Unlock()
	key := d.GetNamespace() + "/" + d.GetName()
	r := k.rollout[key]
	if r.generation != d.GetGeneration() {
		available, _, _ := unstructured.NestedInt64(d.Object, "status", "availableReplicas")
		r = rollout{generation: d.GetGeneration(), update: available > 0}
	}
	r.polls++
	k.rollout[key] = r
	return r
}

// progressingStatus is d's status while its new pods start: none of them
// available yet; in an update the old pods still are (Available stays
// True) and one surge pod runs beside them.
func progressingStatus(d *unstructured.Unstructured, update bool) map[string]any {
	st := deploymentStatus(d, false)
	want, _ := st["replicas"].(int64)
	if update {
		st["replicas"], st["availableReplicas"], st["readyReplicas"], st["unavailableReplicas"] = want+1, want, want, int64(1)
		conds := st["conditions"].([]any)
		conds[0] = map[string]any{"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable",
			"message": "Deployment has minimum availability."}
	}
	conds := st["conditions"].([]any)
	conds[1] = map[string]any{"type": "Progressing", "status": "True", "reason": "ReplicaSetUpdated",
		"message": "ReplicaSet is progressing."}
	return st
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
