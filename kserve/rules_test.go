package kserve_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/kserve"
	"github.com/modelgate/modelgate/kserve/kservetest"
	"github.com/modelgate/modelgate/prometheus"
)

// ruleFile is the rules modelgate alerts renders for model.
func ruleFile(t *testing.T, model, version string) prometheus.RuleFile {
	t.Helper()
	m, err := prometheus.Family("knative-otel")
	if err != nil {
		t.Fatal(err)
	}
	return m.Rules(prometheus.RuleTarget{Model: model, Version: version, Service: model, Namespace: "mlops"}, prometheus.RuleOptions{})
}

func mustRule(t *testing.T, o kserve.Options, model, version string) *unstructured.Unstructured {
	t.Helper()
	obj, err := o.RenderPrometheusRule(model, version, ruleFile(t, model, version).Groups, map[string]string{"release": "prometheus"})
	if err != nil {
		t.Fatal(err)
	}
	return obj
}

// The rules are applied as a PrometheusRule by server-side apply (field
// manager modelgate) as modelgate's RBAC-limited identity, accepted by the
// prometheus-operator's real CRD schema, read back unchanged, re-applied
// without a change, and updated for another version.
func TestPrometheusRule_ApplyAndReadBack(t *testing.T) {
	ctx := context.Background()
	d := mustDeployer(t, testOptions())
	if err := d.CheckRulePermissions(ctx); err != nil {
		t.Fatalf("CheckRulePermissions with deploy/rbac.yaml: %v", err)
	}
	if got, err := d.PrometheusRule(ctx, "rules-model"); err != nil || got != nil {
		t.Fatalf("PrometheusRule before any apply = %v, %v; want none", got, err)
	}
	if err := d.ApplyPrometheusRule(ctx, mustRule(t, testOptions(), "rules-model", "7")); err != nil {
		t.Fatal(err)
	}
	got, err := d.PrometheusRule(ctx, "rules-model")
	if err != nil || got == nil {
		t.Fatalf("PrometheusRule after apply = %v, %v", got, err)
	}
	if got.GetName() != "rules-model-modelgate" || got.GetNamespace() != "mlops" || got.GetLabels()["release"] != "prometheus" ||
		got.GetAnnotations()[kserve.AnnotationVersion] != "7" {
		t.Errorf("metadata: %s/%s labels %v annotations %v", got.GetNamespace(), got.GetName(), got.GetLabels(), got.GetAnnotations())
	}
	wantGroups(t, got, ruleFile(t, "rules-model", "7"))
	if mf := got.GetManagedFields(); len(mf) != 1 || mf[0].Manager != kserve.FieldManager || mf[0].Operation != metav1.ManagedFieldsOperationApply {
		t.Errorf("managed fields %+v, want one server-side apply by %s", mf, kserve.FieldManager)
	}
	if err := d.ApplyPrometheusRule(ctx, mustRule(t, testOptions(), "rules-model", "7")); err != nil {
		t.Fatal(err)
	}
	again, _ := d.PrometheusRule(ctx, "rules-model")
	if again.GetResourceVersion() != got.GetResourceVersion() {
		t.Errorf("re-applying the same rules changed the object (resourceVersion %s -> %s)", got.GetResourceVersion(), again.GetResourceVersion())
	}
	if err := d.ApplyPrometheusRule(ctx, mustRule(t, testOptions(), "rules-model", "8")); err != nil {
		t.Fatal(err)
	}
	updated, _ := d.PrometheusRule(ctx, "rules-model")
	wantGroups(t, updated, ruleFile(t, "rules-model", "8"))
}

// wantGroups compares the object's spec.groups with the rules file's.
func wantGroups(t *testing.T, obj *unstructured.Unstructured, f prometheus.RuleFile) {
	t.Helper()
	groups, _, _ := unstructured.NestedSlice(obj.Object, "spec", "groups")
	b, err := json.Marshal(groups)
	if err != nil {
		t.Fatal(err)
	}
	var got []prometheus.RuleGroup
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(f.Groups, got); diff != "" {
		t.Errorf("spec.groups read back (-applied +got):\n%s", diff)
	}
}

// The CRD's schema is enforced: a duration Prometheus would not read is
// refused with EINVALID, and nothing is stored.
func TestPrometheusRule_SchemaRefusesBadRules(t *testing.T) {
	ctx := context.Background()
	d := mustDeployer(t, testOptions())
	f := ruleFile(t, "bad-rules", "1")
	f.Groups[0].Rules[0].For = "5 minutes"
	obj, err := testOptions().RenderPrometheusRule("bad-rules", "1", f.Groups, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.ApplyPrometheusRule(ctx, obj); modelgate.ErrorCode(err) != modelgate.EINVALID || !strings.Contains(err.Error(), "spec.groups[0].rules[0].for") {
		t.Fatalf("apply of a bad duration = %v, want EINVALID naming spec.groups[0].rules[0].for", err)
	}
	if got, err := d.PrometheusRule(ctx, "bad-rules"); err != nil || got != nil {
		t.Errorf("a refused PrometheusRule was stored: %v, %v", got, err)
	}
	if _, err := cluster.c.Dyn.Resource(kservetest.PrometheusRule).Namespace("mlops").Get(ctx, "bad-rules-modelgate", metav1.GetOptions{}); err == nil {
		t.Errorf("the admin sees a refused PrometheusRule")
	}
}

// GitOps mode writes the PrometheusRule where the manifests are, and
// applies nothing.
func TestPrometheusRule_GitOps(t *testing.T) {
	o := testOptions()
	o.GitOpsDir = t.TempDir()
	d := mustDeployer(t, o)
	obj := mustRule(t, o, "gitops-rules", "3")
	if err := d.ApplyPrometheusRule(context.Background(), obj); err != nil {
		t.Fatal(err)
	}
	want, err := kserve.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(o.GitOpsDir, kserve.ManifestPrometheusRule))
	if err != nil || string(got) != string(want) {
		t.Fatalf("manifest %v:\n%s\nwant:\n%s", err, got, want)
	}
	if on, err := d.PrometheusRule(context.Background(), "gitops-rules"); err != nil || on != nil {
		t.Errorf("GitOps mode applied the rule: %v, %v", on, err)
	}
}

// The precondition's check: missing until the rules are applied, then
// found with the version they were written for; a missing permission is
// named.
func TestCheckAlertRules(t *testing.T) {
	ctx := context.Background()
	d := mustDeployer(t, testOptions())
	c := d.CheckAlertRules(ctx, "checked-model")
	if c.Status != modelgate.MonitoringMissing || !strings.Contains(c.Detail, "no PrometheusRule mlops/checked-model-modelgate: apply it with `modelgate alerts checked-model --apply`") {
		t.Errorf("before apply: %+v", c)
	}
	if err := d.ApplyPrometheusRule(ctx, mustRule(t, testOptions(), "checked-model", "4")); err != nil {
		t.Fatal(err)
	}
	if c := d.CheckAlertRules(ctx, "checked-model"); c.Status != modelgate.MonitoringOK || c.Detail != "PrometheusRule mlops/checked-model-modelgate, written for version 4" {
		t.Errorf("after apply: %+v", c)
	}
	other, err := kserve.New(cluster.c.AsServiceAccount("mlops", "kserve-sa"), testOptions()) // holds no RBAC
	if err != nil {
		t.Fatal(err)
	}
	if c := other.CheckAlertRules(ctx, "checked-model"); c.Status != modelgate.MonitoringMissing || !strings.Contains(c.Detail, `cannot get resource "prometheusrules"`) {
		t.Errorf("without permission: %+v", c)
	}
}
