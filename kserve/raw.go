package kserve

import (
	"context"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/modelgate/modelgate"
)

// Raw mode (Options.DeploymentMode raw). KServe ignores
// canaryTrafficPercent in RawDeployment mode (kserve#5335), and v0.20.0's
// spec.canary[] creates the canary's Deployment but routes every request
// to the stable one, so modelgate runs the canary itself:
//
//   - production is the InferenceService NAME; the candidate is a second
//     one, NAME-canary, in the same namespace;
//   - the route (an HTTPRoute or VirtualService modelgate owns) splits the traffic between
//     their predictor Services, NAME-predictor and NAME-canary-predictor;
//   - promotion routes everything to the canary, applies the candidate's
//     spec to NAME, routes everything back to NAME and deletes the canary;
//     rollback applies the previous spec to NAME if it has another,
//     routes everything to NAME and deletes the canary.
//
// Each step is an apply or a delete of a desired state, so a run
// interrupted anywhere converges when Promote or Rollback runs again.

// rawState is production in raw mode: the stable and the candidate
// InferenceServices (nil when absent) and the route's split.
type rawState struct {
	name           string
	stable, canary *view
	route          *unstructured.Unstructured // nil when absent
	w              weights
}

// readRaw reads production's raw-mode state for model.
func (d *Deployer) readRaw(ctx context.Context, model string) (*rawState, error) {
	ns, name := d.opts.ProductionNamespace, d.opts.ServiceName(model)
	s := &rawState{name: name}
	var err error
	if s.stable, err = d.get(ctx, ns, name); err != nil {
		return nil, err
	}
	if s.canary, err = d.get(ctx, ns, CanaryName(name)); err != nil {
		return nil, err
	}
	if s.route, err = d.getRoute(ctx, name); err != nil {
		return nil, err
	}
	if s.route != nil {
		s.w = d.opts.routeWeights(s.route, name)
	}
	return s, nil
}

// canaryLive reports whether the candidate exists and is not being deleted.
func (s *rawState) canaryLive() bool {
	return s.canary != nil && s.canary.obj.GetDeletionTimestamp() == nil
}

// stableVersion is the stable InferenceService's version, "" without one.
func (s *rawState) stableVersion() string {
	if s.stable == nil {
		return ""
	}
	return s.stable.version()
}

// traffic maps the route's weights to versions. What is not in effect yet
// is reported as pending, so the engine's "already done" checks never
// mistake an interrupted step for a finished one: a candidate that exists
// is a canary at its weight (0% before the route sends it anything, or
// while the Gateway has not accepted the route's current weights), and a
// stable InferenceService without a route, without an accepted one, or
// whose predictor does not serve its spec's version yet, is a canary at
// 0% with no stable.
func (s *rawState) traffic(stableServes, routeAccepted bool) modelgate.TrafficSplit {
	ts := modelgate.TrafficSplit{Stable: s.stableVersion()}
	if s.canaryLive() || s.w.canary > 0 {
		ts.Canary, ts.CanaryPercent = PredictorName(CanaryName(s.name)), int(s.w.canary)
		if s.canary != nil {
			ts.Canary = s.canary.version()
		}
		if !routeAccepted {
			ts.CanaryPercent = 0
		}
		return ts
	}
	if s.stable != nil && (s.route == nil || !routeAccepted || !stableServes) {
		return modelgate.TrafficSplit{Canary: ts.Stable}
	}
	return ts
}

// rawTraffic is Traffic in raw mode.
func (d *Deployer) rawTraffic(ctx context.Context, model string) (modelgate.TrafficSplit, error) {
	s, err := d.readRaw(ctx, model)
	if err != nil || (s.stable == nil && s.canary == nil) {
		return modelgate.TrafficSplit{}, err
	}
	serves := false
	if s.stable != nil {
		why, err := d.predictorServes(ctx, s.stable.obj.GetNamespace(), s.name, s.stable.version())
		if err != nil {
			return modelgate.TrafficSplit{}, err
		}
		serves = why == ""
	}
	accepted := s.route != nil && d.opts.routeAccepted(s.route) == ""
	return s.traffic(serves, accepted), nil
}

// rawStartCanary is StartCanary in raw mode: the candidate as NAME-canary,
// ready for its version, then the route at 100−percent / percent.
func (d *Deployer) rawStartCanary(ctx context.Context, dep modelgate.Deployment, percent int) error {
	s, err := d.readRaw(ctx, dep.Model)
	if err != nil {
		return err
	}
	if s.stable == nil {
		return d.rawRollOut(ctx, dep) // nothing to compare with: dep becomes stable, as in serverless mode
	}
	if err := d.checkRawMode(s.stable); err != nil {
		return err
	}
	if err := d.replaceCanary(ctx, s, dep.Version); err != nil {
		return err
	}
	ns, cname := d.opts.ProductionNamespace, CanaryName(s.name)
	if err := d.applyNamed(ctx, dep, ns, cname); err != nil {
		return err
	}
	if err := d.waitPredictor(ctx, ns, cname, dep.Version); err != nil {
		return fmt.Errorf("canary %s version %s: %w", dep.Model, dep.Version, err)
	}
	w := weights{stable: int64(100 - percent), canary: int64(percent)}
	if err := d.setRoute(ctx, s.name, w, splitOf(s.stableVersion(), dep.Version, w)); err != nil {
		return fmt.Errorf("canary %s version %s at %d%%: %w", dep.Model, dep.Version, percent, err)
	}
	return nil
}

// checkRawMode refuses an InferenceService KServe runs in Knative mode:
// KServe rejects a change of mode, and its canary is KServe's own.
func (d *Deployer) checkRawMode(v *view) error {
	if m := v.st.DeploymentMode; m == "Knative" || m == "Serverless" {
		return modelgate.Errorf(modelgate.EPRECONDITION, "InferenceService %s/%s runs in %s mode, but platform.deployment_mode is raw", v.obj.GetNamespace(), v.obj.GetName(), m).
			WithHint("KServe cannot change an InferenceService's mode: set platform.deployment_mode serverless, or delete the InferenceService and deploy it again")
	}
	return nil
}

// replaceCanary makes room for a candidate of version: a candidate being
// deleted must be gone first (an apply would revive an object about to
// vanish), and a candidate of another version loses its traffic before
// its pods are replaced.
func (d *Deployer) replaceCanary(ctx context.Context, s *rawState, version string) error {
	ns, cname := d.opts.ProductionNamespace, CanaryName(s.name)
	if s.canary != nil && !s.canaryLive() {
		return d.waitFor(ctx, "deletion of InferenceService "+ns+"/"+cname, func(ctx context.Context) (string, error) {
			v, err := d.get(ctx, ns, cname)
			if err != nil || v == nil {
				return "", err
			}
			return "it still exists (finalizers: " + fmt.Sprint(v.obj.GetFinalizers()) + ")", nil
		})
	}
	if s.canaryLive() && s.canary.version() != version && s.w.canary > 0 {
		w := weights{stable: 100}
		return d.setRoute(ctx, s.name, w, splitOf(s.stableVersion(), "", w))
	}
	return nil
}

// rawPromote is Promote in raw mode: every request to the candidate, its
// spec applied to NAME, every request back to NAME, the candidate deleted.
func (d *Deployer) rawPromote(ctx context.Context, model, version string) error {
	s, err := d.readRaw(ctx, model)
	if err != nil {
		return err
	}
	ns := d.opts.ProductionNamespace
	var dep modelgate.Deployment
	switch {
	case s.canaryLive() && s.canary.version() == version:
		if dep, err = deploymentOf(s.canary.obj); err != nil {
			return err
		}
		if err := d.routeToCanary(ctx, s, version); err != nil {
			return err
		}
	case s.stable != nil && s.stable.version() == version && !s.canaryLive():
		// Interrupted after the candidate was deleted: finish the rollout.
		if dep, err = deploymentOf(s.stable.obj); err != nil {
			return err
		}
	default:
		return modelgate.Errorf(modelgate.ECONFLICT, "production (%s/%s) has no canary of version %s to promote (traffic: %s)", ns, s.name, version, s.w)
	}
	return d.rawRollOut(ctx, dep)
}

// routeToCanary sends every request to the candidate while NAME takes its
// spec, unless NAME already serves version (an interrupted promotion).
func (d *Deployer) routeToCanary(ctx context.Context, s *rawState, version string) error {
	ns := d.opts.ProductionNamespace
	if s.stable != nil && s.stable.version() == version {
		why, err := d.predictorServes(ctx, ns, s.name, version)
		if err != nil || why == "" {
			return err
		}
	}
	if err := d.waitPredictor(ctx, ns, CanaryName(s.name), version); err != nil {
		return fmt.Errorf("promote version %s: %w", version, err)
	}
	w := weights{canary: 100}
	return d.setRoute(ctx, s.name, w, splitOf(s.stableVersion(), version, w))
}

// rawRollOut serves dep at 100% as NAME: its spec applied and its
// predictor serving it, every request routed to it, the candidate deleted.
// SetStable, Rollback and the end of Promote in raw mode.
func (d *Deployer) rawRollOut(ctx context.Context, dep modelgate.Deployment) error {
	ns, name := d.opts.ProductionNamespace, d.opts.ServiceName(dep.Model)
	if cur, err := d.get(ctx, ns, name); err != nil {
		return err
	} else if cur != nil {
		if err := d.checkRawMode(cur); err != nil {
			return err
		}
	}
	if err := d.applyNamed(ctx, dep, ns, name); err != nil {
		return err
	}
	if err := d.waitPredictor(ctx, ns, name, dep.Version); err != nil {
		return fmt.Errorf("roll out %s version %s: %w", dep.Model, dep.Version, err)
	}
	w := weights{stable: 100}
	if err := d.setRoute(ctx, name, w, splitOf(dep.Version, "", w)); err != nil {
		return fmt.Errorf("roll out %s version %s: %w", dep.Model, dep.Version, err)
	}
	return d.deleteCanary(ctx, ns, CanaryName(name))
}

// deleteCanary deletes the candidate's InferenceService (KServe's
// finalizer and the garbage collector remove its Deployment and Service).
func (d *Deployer) deleteCanary(ctx context.Context, ns, name string) error {
	err := d.dyn.Resource(isvcGVR).Namespace(ns).Delete(ctx, name, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return d.apiError(err, "delete InferenceService %s/%s", ns, name)
	}
	return nil
}

// applyNamed renders dep as the InferenceService name in ns and applies
// it. Applying the same deployment again changes nothing, so a re-run
// step does not restart pods.
func (d *Deployer) applyNamed(ctx context.Context, dep modelgate.Deployment, ns, name string) error {
	obj, err := d.opts.Render(dep, ns, nil)
	if err != nil {
		return err
	}
	obj.SetName(name)
	_, err = d.apply(ctx, obj, false)
	return err
}

// rawRevisions is Revisions in raw mode: the predictor Deployments are the
// revisions (Istio's destination_workload), the split the route's.
func (d *Deployer) rawRevisions(ctx context.Context, model string) (Revisions, error) {
	s, err := d.readRaw(ctx, model)
	if err != nil {
		return Revisions{}, err
	}
	ns := d.opts.ProductionNamespace
	if s.stable == nil {
		return Revisions{}, modelgate.Errorf(modelgate.ENOTFOUND, "InferenceService %s/%s does not exist", ns, s.name)
	}
	r := Revisions{Namespace: ns, Service: s.name, StableRevision: PredictorName(s.name), StableVersion: s.stable.version()}
	if s.w.canary > 0 && s.canary != nil {
		r.CanaryRevision, r.CanaryVersion, r.CanaryPercent = PredictorName(CanaryName(s.name)), s.canary.version(), s.w.canary
	}
	if s.route != nil {
		if t, err := time.Parse(time.RFC3339, s.route.GetAnnotations()[AnnotationSplitSince]); err == nil {
			r.Since = t
		}
	}
	return r, nil
}
