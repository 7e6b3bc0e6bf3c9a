package kserve

import (
	"context"
	"fmt"
	"strings"

	authorizationv1 "k8s.io/api/authorization/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

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
	)
	if d.opts.VirtualService != "" {
		perms = append(perms, Permission{Namespace: ns, Verb: "get", Group: vsGVR.Group, Resource: vsGVR.Resource})
	}
	return perms
}

// CheckTarget checks, changing nothing, that the API server answers, that
// modelgate's permissions suffice (SelfSubjectAccessReview; EUNAUTHORIZED
// naming each missing verb and resource), that the InferenceService CRD is
// installed and that the namespaces and the service account exist
// (EPRECONDITION).
func (d *Deployer) CheckTarget(ctx context.Context, model string) error {
	if _, err := d.kube.Discovery().ServerVersion(); err != nil {
		return d.apiError(err, "reach the Kubernetes API server")
	}
	if err := d.checkPermissions(ctx); err != nil {
		return err
	}
	if _, err := d.kube.Discovery().ServerResourcesForGroupVersion(isvcGVR.GroupVersion().String()); err != nil {
		if apierrors.IsNotFound(err) {
			return modelgate.Errorf(modelgate.EPRECONDITION, "the API server does not serve %s: the InferenceService CRD is not installed", isvcGVR.GroupVersion()).
				WithHint("install KServe (https://kserve.github.io/website/)")
		}
		return d.apiError(err, "discover %s", isvcGVR.GroupVersion())
	}
	for _, ns := range []string{d.opts.StagingNamespace, d.opts.ProductionNamespace} {
		if _, err := d.kube.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{}); err != nil {
			if apierrors.IsNotFound(err) {
				return modelgate.Errorf(modelgate.EPRECONDITION, "namespace %s does not exist", ns).WithHint("create it: kubectl create namespace %s", ns)
			}
			return d.apiError(err, "read namespace %s", ns)
		}
		if sa := d.opts.ServiceAccount; sa != "" {
			if _, err := d.kube.CoreV1().ServiceAccounts(ns).Get(ctx, sa, metav1.GetOptions{}); err != nil {
				if apierrors.IsNotFound(err) {
					return modelgate.Errorf(modelgate.EPRECONDITION, "service account %s does not exist in namespace %s", sa, ns).
						WithHint("create it (kubectl -n %s create serviceaccount %s) with the storage credentials KServe needs", ns, sa)
				}
				return d.apiError(err, "read service account %s/%s", ns, sa)
			}
		}
	}
	return nil
}

func (d *Deployer) checkPermissions(ctx context.Context) error {
	var missing []string
	for _, p := range d.RequiredPermissions() {
		review := &authorizationv1.SelfSubjectAccessReview{Spec: authorizationv1.SelfSubjectAccessReviewSpec{
			ResourceAttributes: &authorizationv1.ResourceAttributes{
				Namespace: p.Namespace, Verb: p.Verb, Group: p.Group, Resource: p.Resource, Subresource: p.Subresource,
			},
		}}
		got, err := d.kube.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, review, metav1.CreateOptions{})
		if err != nil {
			return d.apiError(err, "check permission to %s", p)
		}
		if !got.Status.Allowed {
			missing = append(missing, p.String())
		}
	}
	if len(missing) > 0 {
		return modelgate.Errorf(modelgate.EUNAUTHORIZED, "modelgate is not allowed to %s", strings.Join(missing, "; ")).
			WithHint("grant the Role and ClusterRole in deploy/rbac.yaml")
	}
	return nil
}
