package kserve

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/modelgate/modelgate"
)

// RESTConfig loads a client configuration as kubectl does: kubeconfig when
// set, else $KUBECONFIG, else ~/.kube/config, else the in-cluster service
// account; context selects a kubeconfig context ("" is the current one).
func RESTConfig(kubeconfig, context string) (*rest.Config, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if kubeconfig != "" {
		rules.ExplicitPath = kubeconfig
	}
	overrides := &clientcmd.ConfigOverrides{CurrentContext: context}
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides).ClientConfig()
	if err != nil {
		return nil, modelgate.Errorf(modelgate.EUNAVAILABLE, "load Kubernetes client configuration: %v", err).
			WithHint("set platform.kubeconfig or KUBECONFIG, or run inside the cluster")
	}
	cfg.UserAgent = "modelgate"
	return cfg, nil
}

// The built-in resources the Deployer reads, through the dynamic client.
var (
	namespacesGVR      = schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}
	serviceAccountsGVR = schema.GroupVersionResource{Version: "v1", Resource: "serviceaccounts"}
	podsGVR            = schema.GroupVersionResource{Version: "v1", Resource: "pods"}
	accessReviewsGVR   = schema.GroupVersionResource{Group: "authorization.k8s.io", Version: "v1", Resource: "selfsubjectaccessreviews"}
)

// newClients returns the dynamic client and a REST client for absolute
// paths, sharing one HTTP client. The REST client is configured as the
// dynamic client is (JSON, API errors decoded as metav1.Status), so both
// fail with the same *apierrors.StatusError that apiError translates.
func newClients(cfg *rest.Config) (dynamic.Interface, rest.Interface, error) {
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return nil, nil, err
	}
	dyn, err := dynamic.NewForConfigAndClient(cfg, hc)
	if err != nil {
		return nil, nil, err
	}
	raw, err := newRawClient(cfg, hc)
	if err != nil {
		return nil, nil, err
	}
	return dyn, raw, nil
}

func newRawClient(cfg *rest.Config, hc *http.Client) (rest.Interface, error) {
	c := dynamic.ConfigFor(cfg)
	c.GroupVersion, c.APIPath = nil, ""
	return rest.UnversionedRESTClientForConfigAndClient(c, hc)
}

// apply server-side applies the InferenceService obj (applyResource).
func (d *Deployer) apply(ctx context.Context, obj *unstructured.Unstructured, dryRun bool) (*unstructured.Unstructured, error) {
	return d.applyResource(ctx, isvcGVR, obj, dryRun)
}

// applyResource server-side applies obj, a gvr, under FieldManager with
// strict field validation, so a field the CRD does not know is an error,
// not dropped.
func (d *Deployer) applyResource(ctx context.Context, gvr schema.GroupVersionResource, obj *unstructured.Unstructured, dryRun bool) (*unstructured.Unstructured, error) {
	data, err := json.Marshal(obj.Object)
	if err != nil {
		return nil, err
	}
	force := true
	opts := metav1.PatchOptions{FieldManager: FieldManager, Force: &force, FieldValidation: "Strict"}
	if dryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	out, err := d.dyn.Resource(gvr).Namespace(obj.GetNamespace()).Patch(ctx, obj.GetName(), types.ApplyPatchType, data, opts)
	if err != nil {
		return nil, d.apiError(err, "apply %s %s/%s", obj.GetKind(), obj.GetNamespace(), obj.GetName())
	}
	return out, nil
}

// get returns the InferenceService, or nil when it does not exist.
func (d *Deployer) get(ctx context.Context, namespace, name string) (*view, error) {
	obj, err := d.dyn.Resource(isvcGVR).Namespace(namespace).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, d.apiError(err, "read InferenceService %s/%s", namespace, name)
	}
	v, err := newView(obj)
	if err != nil || namespace != d.opts.ProductionNamespace {
		return v, err
	}
	if v.mem, err = d.readMemory(ctx, namespace, name, obj); err != nil {
		return nil, err
	}
	return v, nil
}

// apiError translates an API server error into a modelgate.Error.
func (d *Deployer) apiError(err error, format string, args ...any) error {
	what := fmt.Sprintf(format, args...)
	var st apierrors.APIStatus
	switch {
	case err == nil:
		return nil
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%s: %w", what, err)
	case apierrors.IsForbidden(err):
		return &modelgate.Error{Code: modelgate.EUNAUTHORIZED, Message: what + ": " + statusMessage(err), Hint: "grant modelgate the Role in deploy/rbac.yaml", Err: err}
	case apierrors.IsUnauthorized(err):
		return &modelgate.Error{Code: modelgate.EUNAUTHORIZED, Message: what + ": the API server rejected modelgate's credentials: " + statusMessage(err), Err: err}
	case apierrors.IsInvalid(err), apierrors.IsBadRequest(err):
		return &modelgate.Error{Code: modelgate.EINVALID, Message: what + ": the API server rejects it: " + statusMessage(err), Err: err}
	case apierrors.IsNotFound(err):
		return &modelgate.Error{Code: modelgate.EPRECONDITION, Message: what + ": " + statusMessage(err), Err: err}
	case apierrors.IsConflict(err):
		return &modelgate.Error{Code: modelgate.ECONFLICT, Message: what + ": " + statusMessage(err), Err: err}
	case apierrors.IsTimeout(err), apierrors.IsServerTimeout(err), apierrors.IsServiceUnavailable(err), apierrors.IsTooManyRequests(err), isNetError(err):
		return &modelgate.Error{Code: modelgate.EUNAVAILABLE, Message: what + ": the Kubernetes API server is unavailable: " + err.Error(), Err: err}
	case errors.As(err, &st):
		return &modelgate.Error{Code: modelgate.EINTERNAL, Message: what + ": " + statusMessage(err), Err: err}
	}
	return &modelgate.Error{Code: modelgate.EUNAVAILABLE, Message: what + ": " + err.Error(), Err: err}
}

func statusMessage(err error) string {
	var st apierrors.APIStatus
	if errors.As(err, &st) && st.Status().Message != "" {
		return st.Status().Message
	}
	return err.Error()
}

func isNetError(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) || strings.Contains(err.Error(), "connection refused")
}
