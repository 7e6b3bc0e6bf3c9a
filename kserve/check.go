package kserve

import (
	"context"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/modelgate/modelgate"
)

// Permission is one thing modelgate must be allowed to do. Namespace ""
// is cluster-scoped.
type Permission struct {
	Namespace   string
	Verb        string
	Group       string
	Resource    string
	Subresource string
}

func (p Permission) String() string {
	r := p.Resource
	if p.Subresource != "" {
		r += "/" + p.Subresource
	}
	if p.Group != "" {
		r += "." + p.Group
	}
	if p.Namespace == "" {
		return fmt.Sprintf("%s %s (cluster-wide)", p.Verb, r)
	}
	return fmt.Sprintf("%s %s in namespace %s", p.Verb, r, p.Namespace)
}

// RequiredPermissions lists what the Deployer does with the API, as
// deploy/rbac.yaml grants it.
func (d *Deployer) RequiredPermissions() []Permission {
	perms := []Permission{
		{Verb: "get", Resource: "namespaces"},
	}
	for _, ns := range []string{d.opts.StagingNamespace, d.opts.ProductionNamespace} {
		perms = append(perms, Permission{Namespace: ns, Verb: "get", Group: isvcGVR.Group, Resource: isvcGVR.Resource})
		if d.opts.GitOpsDir == "" {
			perms = append(perms,
				Permission{Namespace: ns, Verb: "patch", Group: isvcGVR.Group, Resource: isvcGVR.Resource},
				Permission{Namespace: ns, Verb: "create", Group: isvcGVR.Group, Resource: isvcGVR.Resource}) // apply that creates
		}
		if d.opts.ServiceAccount != "" {
			perms = append(perms, Permission{Namespace: ns, Verb: "get", Resource: "serviceaccounts"})
		}
	}
	ns := d.opts.ProductionNamespace
	perms = append(perms,
		Permission{Namespace: ns, Verb: "list", Resource: "pods"},
		Permission{Namespace: ns, Verb: "get", Resource: "pods", Subresource: "log"},
		Permission{Namespace: ns, Verb: "get", Resource: "configmaps"}, // the memory (memory.go)
	)
	if d.opts.GitOpsDir == "" {
		perms = append(perms,
			Permission{Namespace: ns, Verb: "patch", Resource: "configmaps"},
			Permission{Namespace: ns, Verb: "create", Resource: "configmaps"})
	}
	if d.opts.VirtualService != "" {
		perms = append(perms, Permission{Namespace: ns, Verb: "get", Group: vsGVR.Group, Resource: vsGVR.Resource})
	}
	if d.opts.Raw() {
		perms = append(perms, rawPermissions(d.opts.StagingNamespace, ns, d.opts.router().resource())...)
	}
	return perms
}

// rawPermissions is what raw mode needs besides: the predictor Deployments
// read in both namespaces (whether they rolled out the version) and, in
// production, the candidate deleted, the route (of resource route)
// applied and read, and the route's backend Services read.
func rawPermissions(staging, production string, route schema.GroupVersionResource) []Permission {
	return []Permission{
		{Namespace: staging, Verb: "get", Group: deploymentsGVR.Group, Resource: deploymentsGVR.Resource},
		{Namespace: production, Verb: "get", Group: deploymentsGVR.Group, Resource: deploymentsGVR.Resource},
		{Namespace: production, Verb: "delete", Group: isvcGVR.Group, Resource: isvcGVR.Resource},
		{Namespace: production, Verb: "get", Group: route.Group, Resource: route.Resource},
		{Namespace: production, Verb: "patch", Group: route.Group, Resource: route.Resource},
		{Namespace: production, Verb: "create", Group: route.Group, Resource: route.Resource},
		{Namespace: production, Verb: "get", Resource: servicesGVR.Resource},
	}
}

// CheckTarget checks, changing nothing, that the API server answers, that
// modelgate's permissions suffice (SelfSubjectAccessReview; EUNAUTHORIZED
// naming each missing verb and resource), that the InferenceService CRD is
// installed and that the namespaces and the service account exist
// (EPRECONDITION).
func (d *Deployer) CheckTarget(ctx context.Context, model string) error {
	if err := d.raw.Get().AbsPath("/version").Do(ctx).Error(); err != nil {
		return d.apiError(err, "reach the Kubernetes API server")
	}
	if err := d.checkPermissions(ctx); err != nil {
		return err
	}
	if err := d.checkCRD(ctx); err != nil {
		return err
	}
	if err := d.checkRouteCRD(ctx); err != nil {
		return err
	}
	for _, ns := range []string{d.opts.StagingNamespace, d.opts.ProductionNamespace} {
		if err := d.checkNamespace(ctx, ns); err != nil {
			return err
		}
	}
	return nil
}

// checkCRD asks discovery for the InferenceService's group version, as
// kubectl api-resources does.
func (d *Deployer) checkCRD(ctx context.Context) error {
	gv := isvcGVR.GroupVersion()
	err := d.raw.Get().AbsPath("/apis", gv.Group, gv.Version).Do(ctx).Error()
	if apierrors.IsNotFound(err) {
		return modelgate.Errorf(modelgate.EPRECONDITION, "the API server does not serve %s: the InferenceService CRD is not installed", gv).
			WithHint("install KServe (https://kserve.github.io/website/)")
	}
	return d.apiError(err, "discover %s", gv)
}

// checkRouteCRD, in raw mode, asks discovery for the route's resource: the
// Gateway API's HTTPRoute or Istio's VirtualService.
func (d *Deployer) checkRouteCRD(ctx context.Context) error {
	if !d.opts.Raw() {
		return nil
	}
	gv := d.opts.router().resource().GroupVersion()
	err := d.raw.Get().AbsPath("/apis", gv.Group, gv.Version).Do(ctx).Error()
	if apierrors.IsNotFound(err) {
		e := modelgate.Errorf(modelgate.EPRECONDITION, "the API server does not serve %s: the %s CRD is not installed (platform.deployment_mode raw routes through it)", gv, d.opts.Route.Kind)
		if d.opts.Route.Kind == RouteVirtualService {
			return e.WithHint("install Istio, or set platform.route.kind httproute")
		}
		return e.WithHint("install the Gateway API (https://gateway-api.sigs.k8s.io/guides/) and a Gateway for platform.route.gateway")
	}
	return d.apiError(err, "discover %s", gv)
}

// checkNamespace checks that ns and, when one is configured, the service
// account in it exist.
func (d *Deployer) checkNamespace(ctx context.Context, ns string) error {
	if _, err := d.dyn.Resource(namespacesGVR).Get(ctx, ns, metav1.GetOptions{}); err != nil {
		if apierrors.IsNotFound(err) {
			return modelgate.Errorf(modelgate.EPRECONDITION, "namespace %s does not exist", ns).WithHint("create it: kubectl create namespace %s", ns)
		}
		return d.apiError(err, "read namespace %s", ns)
	}
	sa := d.opts.ServiceAccount
	if sa == "" {
		return nil
	}
	if _, err := d.dyn.Resource(serviceAccountsGVR).Namespace(ns).Get(ctx, sa, metav1.GetOptions{}); err != nil {
		if apierrors.IsNotFound(err) {
			return modelgate.Errorf(modelgate.EPRECONDITION, "service account %s does not exist in namespace %s", sa, ns).
				WithHint("create it (kubectl -n %s create serviceaccount %s) with the storage credentials KServe needs", ns, sa)
		}
		return d.apiError(err, "read service account %s/%s", ns, sa)
	}
	return nil
}

func (d *Deployer) checkPermissions(ctx context.Context) error {
	return d.checkGrants(ctx, d.RequiredPermissions())
}

// checkGrants asks for each of perms whether modelgate holds it:
// EUNAUTHORIZED naming the missing ones.
func (d *Deployer) checkGrants(ctx context.Context, perms []Permission) error {
	var missing []string
	for _, p := range perms {
		ok, err := d.allowed(ctx, p)
		if err != nil {
			return d.apiError(err, "check permission to %s", p)
		}
		if !ok {
			missing = append(missing, p.String())
		}
	}
	if len(missing) > 0 {
		return modelgate.Errorf(modelgate.EUNAUTHORIZED, "modelgate is not allowed to %s", strings.Join(missing, "; ")).
			WithHint("grant the Role and ClusterRole in deploy/rbac.yaml")
	}
	return nil
}

// allowed asks the API server, with a SelfSubjectAccessReview, whether
// modelgate may do p.
func (d *Deployer) allowed(ctx context.Context, p Permission) (bool, error) {
	attrs := map[string]any{"verb": p.Verb, "resource": p.Resource}
	for k, v := range map[string]string{"namespace": p.Namespace, "group": p.Group, "subresource": p.Subresource} {
		if v != "" {
			attrs[k] = v
		}
	}
	review := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "authorization.k8s.io/v1",
		"kind":       "SelfSubjectAccessReview",
		"spec":       map[string]any{"resourceAttributes": attrs},
	}}
	got, err := d.dyn.Resource(accessReviewsGVR).Create(ctx, review, metav1.CreateOptions{})
	if err != nil {
		return false, err
	}
	ok, _, err := unstructured.NestedBool(got.Object, "status", "allowed")
	return ok, err
}
