package kserve

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// TestRolledOut: a predictor Deployment counts as rolled out only as
// kubectl rollout status would count it. Mid-update the old pod keeps
// Available True beside the surge pod of the new template: not rolled out.
func TestRolledOut(t *testing.T) {
	dep := func(replicas, updated, available int64, availableCond, progressing string) *unstructured.Unstructured {
		return &unstructured.Unstructured{Object: map[string]any{
			"metadata": map[string]any{"name": "m-predictor", "namespace": "mlops", "generation": int64(2)},
			"spec":     map[string]any{"replicas": int64(1), "template": map[string]any{"metadata": map[string]any{"labels": map[string]any{LabelVersion: "2"}}}},
			"status": map[string]any{"observedGeneration": int64(2), "replicas": replicas, "updatedReplicas": updated, "availableReplicas": available,
				"conditions": []any{
					map[string]any{"type": "Available", "status": availableCond, "message": "m"},
					map[string]any{"type": "Progressing", "status": "True", "reason": progressing, "message": "p"},
				}},
		}}
	}
	for _, c := range []struct {
		name string
		dep  *unstructured.Unstructured
		want string // a part of the reason; "" when rolled out
	}{
		{"surge: old pod available, new one starting", dep(2, 1, 1, "True", "ReplicaSetUpdated"), "1 old replicas pending termination"},
		{"new pod not available yet", dep(1, 1, 0, "False", "ReplicaSetUpdated"), "0 of 1 updated replicas available"},
		{"not updated", dep(1, 0, 1, "True", "ReplicaSetUpdated"), "0 of 1 replicas updated"},
		{"progress deadline", dep(2, 1, 1, "True", "ProgressDeadlineExceeded"), "exceeded its progress deadline"},
		{"rolled out", dep(1, 1, 1, "True", "NewReplicaSetAvailable"), ""},
	} {
		got := rolledOut(c.dep, "2")
		if (c.want == "") != (got == "") || !strings.Contains(got, c.want) {
			t.Errorf("%s: rolledOut = %q, want %q", c.name, got, c.want)
		}
	}
}
