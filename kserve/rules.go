package kserve

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/modelgate/modelgate"
)

// PrometheusRuleGVR is the prometheus-operator's PrometheusRule: alerting
// rules a Prometheus it runs loads from the cluster.
var PrometheusRuleGVR = schema.GroupVersionResource{Group: "monitoring.coreos.com", Version: "v1", Resource: "prometheusrules"}

// ManifestPrometheusRule is where GitOps mode writes the PrometheusRule,
// relative to Options.GitOpsDir.
const ManifestPrometheusRule = "serving/prometheusrule.yaml"

// PrometheusRuleName is the name of model's PrometheusRule in production's
// namespace: <service>-modelgate.
func (o Options) PrometheusRuleName(model string) string { return o.ServiceName(model) + "-modelgate" }

// RenderPrometheusRule returns model's PrometheusRule in production's
// namespace: spec.groups are groups (a Prometheus rules file's groups,
// anything that encodes to them as JSON), labels go on the object (what a
// Prometheus's ruleSelector matches), and the version the rules are for is
// annotated (AnnotationVersion).
func (o Options) RenderPrometheusRule(model, version string, groups any, labels map[string]string) (*unstructured.Unstructured, error) {
	b, err := json.Marshal(groups)
	if err != nil {
		return nil, fmt.Errorf("encode rule groups: %w", err)
	}
	var gs []any
	if err := json.Unmarshal(b, &gs); err != nil {
		return nil, fmt.Errorf("rule groups are not a list: %w", err)
	}
	l := map[string]any{"app.kubernetes.io/managed-by": "modelgate", "modelgate.dev/model": dnsLabel(model)}
	for k, v := range labels {
		l[k] = v
	}
	o = o.withDefaults()
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": PrometheusRuleGVR.GroupVersion().String(),
		"kind":       "PrometheusRule",
		"metadata": map[string]any{"name": o.PrometheusRuleName(model), "namespace": o.ProductionNamespace, "labels": l,
			"annotations": map[string]any{AnnotationVersion: version}},
		"spec": map[string]any{"groups": gs},
	}}, nil
}

// ApplyPrometheusRule server-side applies obj (RenderPrometheusRule's) as
// field manager modelgate, or writes it to ManifestPrometheusRule in GitOps
// mode. EPRECONDITION when the API server does not serve PrometheusRules
// (the prometheus-operator is not installed), EUNAUTHORIZED naming what
// deploy/rbac.yaml must grant.
func (d *Deployer) ApplyPrometheusRule(ctx context.Context, obj *unstructured.Unstructured) error {
	if d.opts.GitOpsDir != "" {
		b, err := Marshal(obj)
		if err != nil {
			return err
		}
		return writeFile(filepath.Join(d.opts.GitOpsDir, ManifestPrometheusRule), b)
	}
	_, err := d.applyResource(ctx, PrometheusRuleGVR, obj, false)
	if apierrors.IsNotFound(err) {
		return modelgate.Errorf(modelgate.EPRECONDITION, "the API server does not serve %s: the prometheus-operator's PrometheusRule CRD is not installed", PrometheusRuleGVR.GroupResource()).
			WithHint("install the prometheus-operator, or load the rules file `modelgate alerts` prints into Prometheus yourself")
	}
	return err
}

// PrometheusRule returns model's PrometheusRule as the cluster has it, nil
// when there is none (or PrometheusRules are not served at all).
func (d *Deployer) PrometheusRule(ctx context.Context, model string) (*unstructured.Unstructured, error) {
	ns, name := d.opts.ProductionNamespace, d.opts.PrometheusRuleName(model)
	obj, err := d.dyn.Resource(PrometheusRuleGVR).Namespace(ns).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, d.apiError(err, "read PrometheusRule %s/%s", ns, name)
	}
	return obj, nil
}

// RulePermissions lists what ApplyPrometheusRule and PrometheusRule do
// with the API, as deploy/rbac.yaml grants it (GitOps mode only reads).
func (d *Deployer) RulePermissions() []Permission {
	ns, g, r := d.opts.ProductionNamespace, PrometheusRuleGVR.Group, PrometheusRuleGVR.Resource
	perms := []Permission{{Namespace: ns, Verb: "get", Group: g, Resource: r}}
	if d.opts.GitOpsDir == "" {
		perms = append(perms, Permission{Namespace: ns, Verb: "patch", Group: g, Resource: r}, Permission{Namespace: ns, Verb: "create", Group: g, Resource: r})
	}
	return perms
}

// CheckRulePermissions checks, changing nothing, that modelgate may do
// RulePermissions: EUNAUTHORIZED naming each missing verb and resource.
func (d *Deployer) CheckRulePermissions(ctx context.Context) error {
	return d.checkGrants(ctx, d.RulePermissions())
}

// CheckAlertRules says whether model's PrometheusRule exists in
// production's namespace (applied by `modelgate alerts MODEL --apply`): a
// MonitoringCheck for the promotion's preconditions.
func (d *Deployer) CheckAlertRules(ctx context.Context, model string) modelgate.MonitoringCheck {
	ns, name := d.opts.ProductionNamespace, d.opts.PrometheusRuleName(model)
	c := modelgate.MonitoringCheck{Name: "alert rules"}
	obj, err := d.PrometheusRule(ctx, model)
	switch {
	case err != nil:
		c.Status, c.Detail = modelgate.MonitoringMissing, modelgate.ErrorMessage(err)
	case obj == nil:
		c.Status = modelgate.MonitoringMissing
		c.Detail = fmt.Sprintf("no PrometheusRule %s/%s: apply it with `modelgate alerts %s --apply`", ns, name, model)
	default:
		c.Status = modelgate.MonitoringOK
		c.Detail = fmt.Sprintf("PrometheusRule %s/%s, written for version %s", ns, name, obj.GetAnnotations()[AnnotationVersion])
	}
	return c
}
