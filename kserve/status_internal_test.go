package kserve

import (
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/modelgate/modelgate"
)

// TestTraffic_PinnedRollbackIsNotFinished: Rollback first pins every
// request on the previous version (canaryTrafficPercent 0), then removes
// the field. A crash in between leaves all traffic on the previous version
// with the field still set; Traffic must not read that as the finished
// rollback, or the engine would skip the step that removes it.
func TestTraffic_PinnedRollbackIsNotFinished(t *testing.T) {
	pct := func(n int64) *int64 { return &n }
	yes, no := true, false
	v := &view{
		obj: &unstructured.Unstructured{Object: map[string]any{
			"metadata": map[string]any{"annotations": map[string]any{AnnotationVersion: "1"}},
			"spec":     map[string]any{"predictor": map[string]any{"canaryTrafficPercent": int64(0)}},
		}},
		mem: memory{Revisions: map[string]string{"m-predictor-00001": "1", "m-predictor-00003": "1"}},
	}
	v.st.Components.Predictor.Traffic = []trafficTarget{
		{RevisionName: "m-predictor-00003", LatestRevision: &yes, Percent: pct(0)},
		{RevisionName: "m-predictor-00001", LatestRevision: &no, Percent: pct(100), Tag: "prev"},
	}
	if got, want := v.traffic(), (modelgate.TrafficSplit{Stable: "1", Canary: "1"}); got != want {
		t.Fatalf("pinned: traffic = %+v, want %+v (pending)", got, want)
	}
	unstructured.RemoveNestedField(v.obj.Object, "spec", "predictor", "canaryTrafficPercent")
	if got, want := v.traffic(), (modelgate.TrafficSplit{Stable: "1"}); got != want {
		t.Fatalf("field removed: traffic = %+v, want %+v", got, want)
	}
}
