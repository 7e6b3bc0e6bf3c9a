package kserve

import (
	"context"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/modelgate/modelgate"
)

// predictorServes returns why the InferenceService isvc does not serve
// version yet ("" when it does): its spec is another version, Ready is
// not True, or its predictor Deployment has not rolled out a pod template
// of version.
//
// In RawDeployment mode KServe copies status.observedGeneration from the
// predictor Deployment's (PropagateRawStatus, kserve v0.20.0
// inference_service_status.go), not from the InferenceService's own
// generation, so "Ready for the current generation" cannot be read from
// the InferenceService alone: the Deployment's template carries the
// version label modelgate puts on the predictor's pods, and its own
// generation says whether it rolled out.
func (d *Deployer) predictorServes(ctx context.Context, ns, isvc, version string) (string, error) {
	v, err := d.get(ctx, ns, isvc)
	if err != nil || v == nil {
		return fmt.Sprintf("InferenceService %s/%s does not exist", ns, isvc), err
	}
	if v.version() != version {
		return fmt.Sprintf("InferenceService %s/%s is version %q, not %s", ns, isvc, v.version(), version), nil
	}
	if c := v.condition("Ready"); c.Status != "True" {
		return fmt.Sprintf("InferenceService %s/%s: Ready is %s [%s]", ns, isvc, c.Status, v.describe()), nil
	}
	name := PredictorName(isvc)
	dep, err := d.dyn.Resource(deploymentsGVR).Namespace(ns).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return fmt.Sprintf("predictor Deployment %s/%s does not exist", ns, name), nil
	}
	if err != nil {
		return "", d.apiError(err, "read Deployment %s/%s", ns, name)
	}
	return rolledOut(dep, labelValue(version)), nil
}

// rolledOut returns why the Deployment has not rolled out pods labelled
// version, as kubectl rollout status judges it (kubectl's
// DeploymentStatusViewer): the template's version, the generation
// observed, the progress deadline not exceeded, every replica updated, no
// old replica left (during a rolling update the old pods keep Available
// True while the new ones start), every updated replica available.
func rolledOut(dep *unstructured.Unstructured, version string) string {
	name := dep.GetNamespace() + "/" + dep.GetName()
	got, _, _ := unstructured.NestedString(dep.Object, "spec", "template", "metadata", "labels", LabelVersion)
	if got != version {
		return fmt.Sprintf("predictor Deployment %s runs version %q, not %s (KServe has not updated it yet)", name, got, version)
	}
	observed, _, _ := unstructured.NestedInt64(dep.Object, "status", "observedGeneration")
	if observed < dep.GetGeneration() {
		return fmt.Sprintf("predictor Deployment %s: generation %d not observed yet (observed %d)", name, dep.GetGeneration(), observed)
	}
	want, found, _ := unstructured.NestedInt64(dep.Object, "spec", "replicas")
	if !found {
		want = 1
	}
	conds, _, _ := unstructuredSlice(dep.Object, "status", "conditions")
	for _, c := range conds {
		if c["type"] == "Progressing" && c["reason"] == "ProgressDeadlineExceeded" {
			return fmt.Sprintf("predictor Deployment %s exceeded its progress deadline: %v", name, c["message"])
		}
	}
	if why := replicasRolledOut(dep, want); why != "" {
		return fmt.Sprintf("predictor Deployment %s: %s", name, why)
	}
	for _, c := range conds {
		if c["type"] == "Available" {
			if c["status"] == "True" {
				return ""
			}
			return fmt.Sprintf("predictor Deployment %s is not available: %v", name, c["message"])
		}
	}
	return fmt.Sprintf("predictor Deployment %s reports no Available condition yet", name)
}

// replicasRolledOut returns why dep's replicas are not all of the new
// template and available ("" when they are).
func replicasRolledOut(dep *unstructured.Unstructured, want int64) string {
	count := func(field string) int64 {
		n, _, _ := unstructured.NestedInt64(dep.Object, "status", field)
		return n
	}
	updated, total, available := count("updatedReplicas"), count("replicas"), count("availableReplicas")
	switch {
	case updated < want:
		return fmt.Sprintf("%d of %d replicas updated", updated, want)
	case total > updated:
		return fmt.Sprintf("%d old replicas pending termination", total-updated)
	case available < updated:
		return fmt.Sprintf("%d of %d updated replicas available", available, updated)
	}
	return ""
}

// waitPredictor waits, up to CanaryTimeout, until isvc serves version.
func (d *Deployer) waitPredictor(ctx context.Context, ns, isvc, version string) error {
	return d.waitFor(ctx, "InferenceService "+ns+"/"+isvc, func(ctx context.Context) (string, error) {
		return d.predictorServes(ctx, ns, isvc, version)
	})
}

// waitFor polls why until it returns "" or an error, up to CanaryTimeout.
// EPRECONDITION after it, naming what and the last reason; every 30 s of
// waiting is logged, as wait does.
func (d *Deployer) waitFor(ctx context.Context, what string, why func(context.Context) (string, error)) error {
	return d.waitUpTo(ctx, d.opts.CanaryTimeout, what, why)
}

func (d *Deployer) waitUpTo(ctx context.Context, timeout time.Duration, what string, why func(context.Context) (string, error)) error {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	started, said := time.Now(), time.Now()
	for {
		reason, err := why(ctx)
		if err != nil || reason == "" {
			return err
		}
		if d.Log != nil && time.Since(said) >= 30*time.Second {
			said = time.Now()
			d.Log.Warn(fmt.Sprintf("still waiting for %s after %s (of %s): %s", what, time.Since(started).Round(time.Second), timeout, reason))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline.C:
			return modelgate.Errorf(modelgate.EPRECONDITION, "%s not ready within %s: %s", what, timeout, reason)
		case <-time.After(d.opts.PollInterval):
		}
	}
}

// rawStaging is DeployStaging in raw mode: no route, the InferenceService's
// predictor serving dep's version within timeout.
func (d *Deployer) rawStaging(ctx context.Context, dep modelgate.Deployment, timeout time.Duration) (modelgate.Endpoint, error) {
	ns, name := d.opts.StagingNamespace, d.opts.ServiceName(dep.Model)
	if err := d.applyNamed(ctx, dep, ns, name); err != nil {
		return modelgate.Endpoint{}, err
	}
	err := d.waitUpTo(ctx, timeout, "InferenceService "+ns+"/"+name, func(ctx context.Context) (string, error) {
		return d.predictorServes(ctx, ns, name, dep.Version)
	})
	if err != nil {
		return modelgate.Endpoint{}, fmt.Errorf("staging %s version %s: %w", dep.Model, dep.Version, err)
	}
	v, err := d.get(ctx, ns, name)
	if err != nil {
		return modelgate.Endpoint{}, err
	}
	if v == nil {
		return modelgate.Endpoint{}, modelgate.Errorf(modelgate.ECONFLICT, "InferenceService %s/%s was deleted while staging version %s", ns, name, dep.Version)
	}
	return modelgate.Endpoint{URL: v.st.URL, Name: name}, nil
}
