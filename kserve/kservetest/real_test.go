package kservetest

import (
	"context"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// TestStartReal: KServe's real controller manager, through its own
// defaulting and validating webhooks, makes a Knative-mode and a
// RawDeployment-mode InferenceService ready from the stand-ins' reports
// alone.
func TestStartReal(t *testing.T) {
	c, err := StartReal(RealOptions{})
	Check(t, err)
	t.Cleanup(func() { _ = c.Stop() })
	ctx := context.Background()
	for _, mode := range []string{"Serverless", "RawDeployment"} {
		name := map[string]string{"Serverless": "knative-mode", "RawDeployment": "raw-mode"}[mode]
		isvc := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService",
			"metadata": map[string]any{"name": name, "namespace": "mlops", "annotations": map[string]any{"serving.kserve.io/deploymentMode": mode}},
			"spec": map[string]any{"predictor": map[string]any{
				"labels": map[string]any{"modelgate.dev/version": "1"},
				"model":  map[string]any{"modelFormat": map[string]any{"name": "lightgbm"}, "storageUri": "s3://models/m/1"},
			}},
		}}
		if _, err := c.Dyn.Resource(ISVC).Namespace("mlops").Create(ctx, isvc, metav1.CreateOptions{}); err != nil {
			t.Fatalf("%s: %v", mode, err)
		}
		got, err := c.WaitISVC(ctx, "mlops", name, time.Minute, isReady)
		if err != nil {
			logs, _ := c.Events(ctx, "mlops", name)
			t.Fatalf("%s: %v\nevents: %q\nmanager log: %s", mode, err, logs, c.Real.ManagerLog)
		}
		st, _, _ := unstructured.NestedMap(got.Object, "status")
		t.Logf("%s: status %v", mode, st)
	}
	// RawDeployment: KServe's predictor Deployment, and the stand-in's pod
	// of it, found by the InferenceService's label as modelgate looks.
	pods, err := c.Kube.CoreV1().Pods("mlops").List(ctx, metav1.ListOptions{LabelSelector: "serving.kserve.io/inferenceservice=raw-mode"})
	if err != nil || len(pods.Items) != 1 || pods.Items[0].Status.Phase != "Running" {
		t.Fatalf("pods of raw-mode: %v, %v", pods, err)
	}
}

func isReady(o *unstructured.Unstructured) bool {
	conds, _, _ := unstructured.NestedSlice(o.Object, "status", "conditions")
	for _, c := range conds {
		c, _ := c.(map[string]any)
		if c["type"] == "Ready" && c["status"] == "True" {
			return true
		}
	}
	return false
}
