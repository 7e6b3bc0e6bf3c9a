package kservetest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/modelgate/modelgate/kserve/kservetest"
)

// knativeTimeout bounds each wait for the real controllers.
const knativeTimeout = 2 * time.Minute

// TestKnativeServing runs Knative Serving's real webhook, controller and
// autoscaler: a Knative Service becomes Ready on its first revision, then a
// second revision takes 10% with 90% pinned on the first, as the
// controllers report in the Service's status.
func TestKnativeServing(t *testing.T) {
	start := time.Now()
	c, err := kservetest.Start()
	kservetest.Check(t, err)
	t.Cleanup(func() { _ = c.Stop() })
	t.Logf("API server up in %s", time.Since(start).Round(time.Millisecond))

	start = time.Now()
	k, err := c.StartKnative("")
	kservetest.Check(t, err)
	t.Cleanup(func() {
		if err := k.Stop(); err != nil {
			t.Errorf("stop Knative: %v", err)
		}
	})
	t.Logf("Knative started in %s", time.Since(start).Round(time.Millisecond))

	ctx := context.Background()
	ksvc := c.Dyn.Resource(kservetest.KnativeService).Namespace("mlops-staging")
	start = time.Now()
	if _, err := ksvc.Create(ctx, knativeService(t, "v1", nil), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitKnative(t, k, c, "model", []traffic{{"model-00001", 100, true}})
	t.Logf("revision 1 ready with 100%% in %s", time.Since(start).Round(time.Millisecond))
	u, err := ksvc.Get(ctx, "model", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got, _, _ := unstructured.NestedString(u.Object, "status", "url"); got != "http://model.mlops-staging.example.com" {
		t.Errorf("status.url = %q, want http://model.mlops-staging.example.com (config-domain example.com)", got)
	}

	start = time.Now()
	split := []any{
		map[string]any{"revisionName": "model-00001", "percent": int64(90), "latestRevision": false},
		map[string]any{"latestRevision": true, "percent": int64(10)},
	}
	cur, err := ksvc.Get(ctx, "model", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Edit what was read: the validation webhook refuses an update that
	// drops the annotations Knative's defaulting added (creator, updater).
	next := knativeService(t, "v2", split)
	cur.Object["spec"] = next.Object["spec"]
	if _, err := ksvc.Update(ctx, cur, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitKnative(t, k, c, "model", []traffic{{"model-00001", 90, false}, {"model-00002", 10, true}})
	t.Logf("revision 2 ready with 90/10 in %s", time.Since(start).Round(time.Millisecond))

	// A third revision whose model server crashes: it fails, the Service
	// is not Ready, and latestRevision traffic stays on revision 2.
	start = time.Now()
	k.Crash("index.docker.io/kservetest/model:v3")
	if cur, err = ksvc.Get(ctx, "model", metav1.GetOptions{}); err != nil {
		t.Fatal(err)
	}
	cur.Object["spec"] = knativeService(t, "v3", split).Object["spec"]
	if _, err := ksvc.Update(ctx, cur, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitService(t, k, c, "model", "revision 3 failed, traffic unchanged", func(u *unstructured.Unstructured) bool {
		got, ready := knativeStatus(u)
		created, _, _ := unstructured.NestedString(u.Object, "status", "latestCreatedRevisionName")
		readyRev, _, _ := unstructured.NestedString(u.Object, "status", "latestReadyRevisionName")
		observed, _, _ := unstructured.NestedInt64(u.Object, "status", "observedGeneration")
		return !ready && observed == u.GetGeneration() && created == "model-00003" && readyRev == "model-00002" &&
			conditionStatus(u, "ConfigurationsReady") == "False" &&
			fmt.Sprint(got) == fmt.Sprint([]traffic{{"model-00001", 90, false}, {"model-00002", 10, true}})
	})
	rev, err := c.Dyn.Resource(kservetest.KnativeRevision).Namespace("mlops-staging").Get(ctx, "model-00003", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := conditionStatus(rev, "ContainerHealthy"); got != "False" {
		t.Errorf("revision 3's ContainerHealthy = %q, want False", got)
	}
	conds, _, _ := unstructured.NestedSlice(rev.Object, "status", "conditions")
	t.Logf("revision 3's conditions: %v", conds)
	t.Logf("revision 3 failed in %s", time.Since(start).Round(time.Millisecond))
}

// knativeService is the Service "model" with the image's tag version and
// the traffic (Knative's default when nil).
func knativeService(t *testing.T, version string, traffic []any) *unstructured.Unstructured {
	t.Helper()
	u := &unstructured.Unstructured{}
	err := json.Unmarshal(fmt.Appendf(nil, `{"apiVersion":"serving.knative.dev/v1","kind":"Service",
		"metadata":{"name":"model"},
		"spec":{"template":{"spec":{"containers":[{"image":"index.docker.io/kservetest/model:%s"}]}}}}`, version), &u.Object)
	if err != nil {
		t.Fatal(err)
	}
	if traffic != nil {
		if err := unstructured.SetNestedSlice(u.Object, traffic, "spec", "traffic"); err != nil {
			t.Fatal(err)
		}
	}
	return u
}

// traffic is one entry of a Knative Service's status.traffic.
type traffic struct {
	Revision string
	Percent  int64
	Latest   bool
}

// waitKnative waits until the Service's status, for its current
// generation, is Ready with exactly the traffic want.
func waitKnative(t *testing.T, k *kservetest.Knative, c *kservetest.Cluster, name string, want []traffic) {
	t.Helper()
	waitService(t, k, c, name, fmt.Sprintf("Ready with traffic %v", want), func(u *unstructured.Unstructured) bool {
		got, ready := knativeStatus(u)
		return ready && fmt.Sprint(got) == fmt.Sprint(want)
	})
}

// waitService waits until ok accepts the Service.
func waitService(t *testing.T, k *kservetest.Knative, c *kservetest.Cluster, name, desc string, ok func(*unstructured.Unstructured) bool) {
	t.Helper()
	ksvc := c.Dyn.Resource(kservetest.KnativeService).Namespace("mlops-staging")
	deadline := time.Now().Add(knativeTimeout)
	var last string
	for time.Now().Before(deadline) {
		u, err := ksvc.Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if ok(u) {
			return
		}
		status, _ := json.Marshal(u.Object["status"])
		last = string(status)
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("Knative Service %s not %s within %s; status: %s\nstand-ins: %v\ncontroller log ends:\n%s\nautoscaler log ends:\n%s",
		name, desc, knativeTimeout, last, k.StandInError(), k.LogTail("controller"), k.LogTail("autoscaler"))
}

// conditionStatus is the status of a condition of u ("" if absent).
func conditionStatus(u *unstructured.Unstructured, typ string) string {
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conds {
		if c, _ := c.(map[string]any); c["type"] == typ {
			s, _ := c["status"].(string)
			return s
		}
	}
	return ""
}

// knativeStatus returns the traffic in status and whether the Service is
// Ready for its current generation.
func knativeStatus(u *unstructured.Unstructured) ([]traffic, bool) {
	observed, _, _ := unstructured.NestedInt64(u.Object, "status", "observedGeneration")
	ready := observed == u.GetGeneration() && conditionStatus(u, "Ready") == "True"
	var out []traffic
	entries, _, _ := unstructured.NestedSlice(u.Object, "status", "traffic")
	for _, e := range entries {
		e, _ := e.(map[string]any)
		rev, _ := e["revisionName"].(string)
		pct, _ := e["percent"].(int64)
		latest, _ := e["latestRevision"].(bool)
		out = append(out, traffic{rev, pct, latest})
	}
	return out, ready
}
