package kserve_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/url"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/kserve"
	"github.com/modelgate/modelgate/kserve/kservetest"
	"github.com/modelgate/modelgate/modelgatetest"
)

// rawProductionHost is platform.route.url's host in the raw conformance run.
const rawProductionHost = "models.example.com"

var deploymentsGVR = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}

// TestDeployerConformance_Raw runs the deployer suite in raw mode on KServe's
// real controller, as the RBAC-limited service account: the split is
// modelgate's HTTPRoute (the gateway stand-in writing its status), and a
// repeated call must change no InferenceService's or route's generation and
// keep when the split was set.
func TestDeployerConformance_Raw(t *testing.T) {
	_, c := mustRawDeployer(t)
	o := rawOptions()
	o.Route.URL = "http://" + rawProductionHost
	d := deployerOn(t, c, o)
	clock := modelgatetest.NewClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	d.Now = func() time.Time { clock.Advance(time.Minute); return clock.Now() }
	modelgatetest.TestDeployer(t, func(t *testing.T) modelgatetest.DeployerSubject {
		return modelgatetest.DeployerSubject{
			Deployer:   d,
			Deployment: verifiedDep,
			Serves: func(ctx context.Context, ep modelgate.Endpoint) (string, error) {
				return rawServedVersion(ctx, c, d, ep)
			},
			State:          func(ctx context.Context, model string) (any, error) { return rawStateOf(ctx, c, d, model) },
			StagingTimeout: 20 * time.Second,
		}
	})
}

// rawServedVersion stands in for the data plane in raw mode: a request to
// the production URL goes where the route's weights send it (a backend
// drawn by weight), one to a URL KServe publishes goes to that
// InferenceService's predictor; the version that answers is the one the
// predictor Deployment's pod template (its rolled-out pods) carries.
func rawServedVersion(ctx context.Context, c *kservetest.Cluster, d *kserve.Deployer, ep modelgate.Endpoint) (string, error) {
	u, err := url.Parse(ep.URL)
	if err != nil {
		return "", err
	}
	ns, svc := "", ""
	if u.Host == rawProductionHost {
		ns = d.Options().ProductionNamespace
		if svc, err = routeBackend(ctx, c, ns, d.Options().RouteName(ep.Name)); err != nil {
			return "", err
		}
	} else {
		isvc, err := c.ServiceForHost(ctx, u.Host)
		if err != nil {
			return "", err
		}
		ns, svc = isvc.GetNamespace(), kserve.PredictorName(isvc.GetName())
	}
	dep, err := c.Dyn.Resource(deploymentsGVR).Namespace(ns).Get(ctx, svc, metav1.GetOptions{})
	if err != nil {
		return "", fmt.Errorf("backend %s/%s: %w", ns, svc, err)
	}
	v, _, _ := unstructured.NestedString(dep.Object, "spec", "template", "metadata", "labels", kserve.LabelVersion)
	return v, nil
}

// routeBackend draws one of the route's backend Services by weight.
func routeBackend(ctx context.Context, c *kservetest.Cluster, ns, route string) (string, error) {
	obj, err := c.Dyn.Resource(kserve.HTTPRouteGVR).Namespace(ns).Get(ctx, route, metav1.GetOptions{})
	if err != nil {
		return "", err
	}
	rules, _, _ := unstructured.NestedSlice(obj.Object, "spec", "rules")
	refs, _, _ := unstructured.NestedSlice(rules[0].(map[string]any), "backendRefs")
	var sum int64
	for _, r := range refs {
		sum += r.(map[string]any)["weight"].(int64)
	}
	if sum == 0 {
		return "", fmt.Errorf("route %s/%s sends nothing anywhere", ns, route)
	}
	n := rand.Int64N(sum)
	for _, r := range refs {
		b := r.(map[string]any)
		if n -= b["weight"].(int64); n < 0 {
			return b["name"].(string), nil
		}
	}
	return "", nil
}

// rawPlatformState is what a repeated raw-mode call must leave as it was.
type rawPlatformState struct {
	Production  kserve.Revisions // zero until production exists
	Generations map[string]int64 // namespace/name → metadata.generation of the InferenceServices and the route
}

func rawStateOf(ctx context.Context, c *kservetest.Cluster, d *kserve.Deployer, model string) (rawPlatformState, error) {
	st := rawPlatformState{Generations: map[string]int64{}}
	o, name := d.Options(), d.Options().ServiceName(model)
	var err error
	if st.Production, err = d.Revisions(ctx, model); err != nil && modelgate.ErrorCode(err) != modelgate.ENOTFOUND {
		return st, err
	}
	objs := []struct{ ns, name string }{{o.StagingNamespace, name}, {o.ProductionNamespace, name}, {o.ProductionNamespace, kserve.CanaryName(name)}}
	for _, x := range objs {
		obj, err := c.Dyn.Resource(kservetest.ISVC).Namespace(x.ns).Get(ctx, x.name, metav1.GetOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return st, err
		}
		if err == nil && obj.GetDeletionTimestamp() == nil {
			st.Generations[x.ns+"/"+x.name] = obj.GetGeneration()
		}
	}
	route, err := c.Dyn.Resource(kserve.HTTPRouteGVR).Namespace(o.ProductionNamespace).Get(ctx, o.RouteName(model), metav1.GetOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return st, err
	}
	if err == nil {
		st.Generations["route "+route.GetName()] = route.GetGeneration()
	}
	return st, nil
}
