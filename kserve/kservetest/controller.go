package kservetest

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
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
)

// Controller plays the KServe controller and Knative in Knative mode,
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
type Controller struct {
	dyn  dynamic.Interface
	kube kubernetes.Interface

	mu        sync.Mutex
	revisions map[string][]Revision // ns/name → revisions, oldest first
	failing   map[string]bool       // versions whose revisions never become ready
	url       func(namespace, name string) string
}

// Revision is one Knative revision the controller created.
type Revision struct {
	Name    string
	Version string    // the predictor's modelgate.dev/version label
	Created time.Time // when the controller created it
	Ready   bool
	hash    string
	seen    int // polls since creation
}

// NewController returns a controller; start it with Run.
func NewController(dyn dynamic.Interface, kube kubernetes.Interface) *Controller {
	return &Controller{dyn: dyn, kube: kube, revisions: map[string][]Revision{}, failing: map[string]bool{}}
}

// Fail makes every revision of version never become ready.
func (f *Controller) Fail(version string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failing[version] = true
}

// SetURL sets how status.url is formed (default
// http://{name}.{namespace}.example.com), e.g. to point it at a test data
// plane.
func (f *Controller) SetURL(url func(namespace, name string) string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.url = url
}

// Revisions returns the revisions of namespace/name, oldest first.
func (f *Controller) Revisions(namespace, name string) []Revision {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Revision(nil), f.revisions[namespace+"/"+name]...)
}

// Run reconciles every InferenceService every 50ms until ctx ends.
func (f *Controller) Run(ctx context.Context) {
	for ctx.Err() == nil {
		list, err := f.dyn.Resource(ISVC).Namespace("").List(ctx, metav1.ListOptions{})
		if err == nil {
			for i := range list.Items {
				_ = f.reconcile(ctx, &list.Items[i])
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// observe records the predictor's template as a revision when it changed
// and ages every revision by one poll.
func (f *Controller) observe(obj *unstructured.Unstructured) (latestReady, latestCreated, url string, failed bool, newlyReady []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	key := obj.GetNamespace() + "/" + obj.GetName()
	predictor, _, _ := unstructured.NestedMap(obj.Object, "spec", "predictor")
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
		revs = append(revs, Revision{Name: fmt.Sprintf("%s-predictor-%05d", obj.GetName(), len(revs)+1), hash: string(h), Version: version, Created: time.Now()})
	}
	for i := range revs {
		revs[i].seen++
		if revs[i].seen >= 2 && !f.failing[revs[i].Version] {
			latestReady = revs[i].Name
			if !revs[i].Ready {
				revs[i].Ready = true
				newlyReady = append(newlyReady, revs[i].Name)
			}
		}
	}
	f.revisions[key] = revs
	url = fmt.Sprintf("http://%s.%s.example.com", obj.GetName(), obj.GetNamespace())
	if f.url != nil {
		url = f.url(obj.GetNamespace(), obj.GetName())
	}
	return latestReady, revs[len(revs)-1].Name, url, f.failing[revs[len(revs)-1].Version], newlyReady
}

func (f *Controller) reconcile(ctx context.Context, obj *unstructured.Unstructured) error {
	latestReady, latestCreated, url, failed, newlyReady := f.observe(obj)
	canary, hasCanary, _ := unstructured.NestedInt64(obj.Object, "spec", "predictor", "canaryTrafficPercent")
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
		"url":                url,
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
	_, err := f.dyn.Resource(ISVC).Namespace(obj.GetNamespace()).UpdateStatus(ctx, obj, metav1.UpdateOptions{})
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
func (f *Controller) createPod(ctx context.Context, isvc *unstructured.Unstructured, rev string) {
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
