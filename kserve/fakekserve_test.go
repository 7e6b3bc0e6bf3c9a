package kserve_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
)

var isvcGVR = schema.GroupVersionResource{Group: "serving.kserve.io", Version: "v1beta1", Resource: "inferenceservices"}

// fakeKServe plays the KServe controller and Knative in Knative mode,
// writing InferenceService status through the status subresource. It
// follows kserve v0.20.0:
//   - pkg/controller/v1beta1/inferenceservice/reconcilers/knative/ksvc_reconciler.go
//     (the ksvc traffic for canaryTrafficPercent: latest P% plus the last
//     rolled-out revision, tag "prev", at 100−P%, only once a revision was
//     rolled out; else latest 100%);
//   - pkg/apis/serving/v1beta1/inference_service_status.go PropagateStatus
//     (percentages summed per revision; latestRolledoutRevision advances
//     when the latest ready revision takes 100% with latestRevision true);
//
// and Knative: every change of the predictor's template (anything but
// canaryTrafficPercent) creates a revision {isvc}-predictor-0000N, ready one
// poll later unless its version is marked failing; latestRevision: true
// routes to the latest ready revision.
type fakeKServe struct {
	dyn  dynamic.Interface
	kube kubernetes.Interface

	mu        sync.Mutex
	revisions map[string][]revision // ns/name → revisions, oldest first
	failing   map[string]bool       // versions whose revisions never become ready
}

type revision struct {
	name, hash, version string
	seen                int // polls since creation
}

func newFakeKServe(dyn dynamic.Interface, kube kubernetes.Interface) *fakeKServe {
	return &fakeKServe{dyn: dyn, kube: kube, revisions: map[string][]revision{}, failing: map[string]bool{}}
}

func (f *fakeKServe) fail(version string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failing[version] = true
}

func (f *fakeKServe) run(ctx context.Context) {
	for ctx.Err() == nil {
		list, err := f.dyn.Resource(isvcGVR).Namespace("").List(ctx, metav1.ListOptions{})
		if err == nil {
			for i := range list.Items {
				_ = f.reconcile(ctx, &list.Items[i])
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (f *fakeKServe) reconcile(ctx context.Context, obj *unstructured.Unstructured) error {
	f.mu.Lock()
	key := obj.GetNamespace() + "/" + obj.GetName()
	predictor, _, _ := unstructured.NestedMap(obj.Object, "spec", "predictor")
	canary, hasCanary, _ := unstructured.NestedInt64(predictor, "canaryTrafficPercent")
	tmpl := map[string]any{}
	for k, v := range predictor {
		if k != "canaryTrafficPercent" {
			tmpl[k] = v
		}
	}
	h, _ := json.Marshal(tmpl)
	revs := f.revisions[key]
	if len(revs) == 0 || revs[len(revs)-1].hash != string(h) {
		version, _, _ := unstructured.NestedString(predictor, "labels", "modelgate.dev/version")
		revs = append(revs, revision{name: fmt.Sprintf("%s-predictor-%05d", obj.GetName(), len(revs)+1), hash: string(h), version: version})
	}
	latestReady, newlyReady := "", []string{}
	for i := range revs {
		revs[i].seen++
		if revs[i].seen >= 2 && !f.failing[revs[i].version] {
			latestReady = revs[i].name
			if revs[i].seen == 2 {
				newlyReady = append(newlyReady, revs[i].name)
			}
		}
	}
	f.revisions[key] = revs
	latestCreated := revs[len(revs)-1].name
	failed := f.failing[revs[len(revs)-1].version]
	f.mu.Unlock()

	for _, r := range newlyReady {
		f.createPod(ctx, obj, r)
	}

	// The component status as it was (KServe reads it before updating).
	var old struct {
		Rolledout string `json:"latestRolledoutRevision"`
		Previous  string `json:"previousRolledoutRevision"`
		Ready     string `json:"latestReadyRevision"`
	}
	if raw, ok, _ := unstructured.NestedMap(obj.Object, "status", "components", "predictor"); ok {
		b, _ := json.Marshal(raw)
		_ = json.Unmarshal(b, &old)
	}

	// ksvc_reconciler.go: the ksvc's spec.traffic.
	type target struct {
		tag, rev string
		latest   bool
		pct      int64
	}
	lastRolledout := old.Rolledout
	var targets []target
	if hasCanary && lastRolledout != "" {
		targets = append(targets, target{latest: true, pct: canary})
		if canary < 100 {
			targets = append(targets, target{tag: "prev", rev: lastRolledout, pct: 100 - canary})
		}
	} else {
		targets = append(targets, target{latest: true, pct: 100})
	}
	// Knative: latestRevision resolves to the latest ready revision.
	var traffic []any
	perRev := map[string]int64{}
	for _, t := range targets {
		if t.latest {
			t.rev = latestReady
		}
		if t.rev == "" {
			continue
		}
		perRev[t.rev] += t.pct
		e := map[string]any{"revisionName": t.rev, "latestRevision": t.latest, "percent": t.pct}
		if t.tag != "" {
			e["tag"] = t.tag
		}
		traffic = append(traffic, e)
	}

	// inference_service_status.go PropagateStatus.
	rolledout, previous := old.Rolledout, old.Previous
	for _, t := range targets {
		if !t.latest || latestReady == "" {
			continue
		}
		if rolledout != latestReady {
			if t.pct == 100 {
				previous, rolledout = rolledout, latestReady
			}
		} else if latestReady == latestCreated && t.pct < 100 && perRev[latestReady] == 100 && previous != "" {
			rolledout = previous
		}
	}

	ready := condition("Ready", "True", "", "")
	predictorReady := condition("PredictorReady", "True", "", "")
	switch {
	case failed:
		msg := fmt.Sprintf("Revision %q failed with message: the storage initializer could not download the model.", latestCreated)
		ready = condition("Ready", "False", "RevisionFailed", msg)
		predictorReady = condition("PredictorReady", "False", "RevisionFailed", msg)
	case latestReady != latestCreated:
		ready = condition("Ready", "Unknown", "RevisionMissing", "Configuration is waiting for a Revision to become ready.")
		predictorReady = ready
		predictorReady["type"] = "PredictorReady"
	}
	predictorStatus := map[string]any{
		"latestCreatedRevision": latestCreated,
		"traffic":               traffic,
	}
	setIf := func(k, v string) {
		if v != "" {
			predictorStatus[k] = v
		}
	}
	setIf("latestReadyRevision", latestReady)
	setIf("latestRolledoutRevision", rolledout)
	setIf("previousRolledoutRevision", previous)
	status := map[string]any{
		"observedGeneration": obj.GetGeneration(),
		"url":                fmt.Sprintf("http://%s.%s.example.com", obj.GetName(), obj.GetNamespace()),
		"deploymentMode":     "Knative",
		"conditions":         []any{condition("IngressReady", "True", "", ""), predictorReady, ready},
		"components":         map[string]any{"predictor": predictorStatus},
	}
	oldStatus, _, _ := unstructured.NestedMap(obj.Object, "status")
	ob, _ := json.Marshal(oldStatus)
	nb, _ := json.Marshal(status)
	if string(ob) == string(nb) {
		return nil
	}
	obj.Object["status"] = status
	_, err := f.dyn.Resource(isvcGVR).Namespace(obj.GetNamespace()).UpdateStatus(ctx, obj, metav1.UpdateOptions{})
	return err
}

func condition(typ, status, reason, msg string) map[string]any {
	c := map[string]any{"type": typ, "status": status, "lastTransitionTime": "2026-01-01T00:00:00Z"}
	if reason != "" {
		c["reason"], c["message"] = reason, msg
	}
	return c
}

// createPod leaves a predictor pod object for a ready revision (no kubelet
// runs it; the log test reads logs through a stub).
func (f *fakeKServe) createPod(ctx context.Context, isvc *unstructured.Unstructured, rev string) {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name:      rev + "-deployment-abc12-xyz34",
			Namespace: isvc.GetNamespace(),
			Labels:    map[string]string{"serving.kserve.io/inferenceservice": isvc.GetName(), "serving.knative.dev/revision": rev, "component": "predictor"},
		},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "kserve-container", Image: "kserve/sklearnserver:v0.20.0"}}},
	}
	if _, err := f.kube.CoreV1().Pods(pod.Namespace).Create(ctx, pod, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return
	}
}
