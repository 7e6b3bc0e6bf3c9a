package kserve

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"

	"github.com/modelgate/modelgate"
)

var _ modelgate.Deployer = (*Deployer)(nil)

// Deployer implements modelgate.Deployer over KServe InferenceServices.
type Deployer struct {
	opts Options
	dyn  dynamic.Interface
	// raw reaches what has no resource for the dynamic client (/version,
	// discovery, pods/log); not the typed clientset, which would add about
	// 40 MB to the binary for these few calls.
	raw rest.Interface
	// Logs reads a pod container's log; nil uses the API server's pods/log.
	// Tests set it since no kubelet runs behind a test API server.
	Logs LogReader
	// Now is the clock for when a split was applied (Revisions.Since).
	// Default time.Now.
	Now func() time.Time
	// Log hears, every 30 s of a wait, why the InferenceService is not ready
	// yet, so a person watching a slow rollout sees progress; nil discards.
	Log *slog.Logger
}

func (d *Deployer) now() time.Time {
	if d.Now != nil {
		return d.Now()
	}
	return time.Now()
}

// New returns a Deployer talking to the API server cfg describes.
func New(cfg *rest.Config, opts Options) (*Deployer, error) {
	if err := opts.Validate(); err != nil {
		return nil, &modelgate.Error{Code: modelgate.EINVALID, Message: err.Error(), Err: err}
	}
	dyn, raw, err := newClients(cfg)
	if err != nil {
		return nil, fmt.Errorf("create Kubernetes client: %w", err)
	}
	return &Deployer{opts: opts.withDefaults(), dyn: dyn, raw: raw}, nil
}

// Open loads the client configuration from opts (see RESTConfig) and
// returns a Deployer.
func Open(opts Options) (*Deployer, error) {
	cfg, err := RESTConfig(opts.Kubeconfig, opts.Context)
	if err != nil {
		return nil, err
	}
	return New(cfg, opts)
}

// Options returns the options in effect (defaults filled in).
func (d *Deployer) Options() Options { return d.opts }

// DeployStaging applies d's InferenceService in the staging namespace and
// waits until Ready is True for its generation, up to timeout. EINVALID when
// the schema rejects it, EPRECONDITION when it is not ready in time (the
// message carries the conditions' reasons and messages).
func (d *Deployer) DeployStaging(ctx context.Context, dep modelgate.Deployment, timeout time.Duration) (modelgate.Endpoint, error) {
	ns, name := d.opts.StagingNamespace, d.opts.ServiceName(dep.Model)
	if d.opts.Raw() {
		return d.rawStaging(ctx, dep, timeout)
	}
	if _, err := d.put(ctx, envStaging, dep, ns, nil); err != nil {
		return modelgate.Endpoint{}, err
	}
	v, err := d.wait(ctx, ns, name, dep.Version, nil, timeout, func(v *view) string {
		if !v.ready() {
			return "Ready is not True for the current generation"
		}
		return ""
	})
	if err != nil {
		return modelgate.Endpoint{}, fmt.Errorf("staging %s version %s: %w", dep.Model, dep.Version, err)
	}
	return modelgate.Endpoint{URL: v.st.URL, Name: name}, nil
}

// Traffic returns production's split by version; Stable is "" when the
// InferenceService does not exist. A revision modelgate did not create is
// reported by its revision name.
func (d *Deployer) Traffic(ctx context.Context, model string) (modelgate.TrafficSplit, error) {
	if d.opts.Raw() {
		return d.rawTraffic(ctx, model)
	}
	v, err := d.get(ctx, d.opts.ProductionNamespace, d.opts.ServiceName(model))
	if err != nil || v == nil {
		return modelgate.TrafficSplit{}, err
	}
	return v.traffic(), nil
}

// Production returns production's endpoint (status.url; in raw mode
// platform.route.url when set). ENOTFOUND when the InferenceService does
// not exist.
func (d *Deployer) Production(ctx context.Context, model string) (modelgate.Endpoint, error) {
	ns, name := d.opts.ProductionNamespace, d.opts.ServiceName(model)
	v, err := d.get(ctx, ns, name)
	if err != nil {
		return modelgate.Endpoint{}, err
	}
	if v == nil {
		return modelgate.Endpoint{}, modelgate.Errorf(modelgate.ENOTFOUND, "InferenceService %s/%s does not exist", ns, name)
	}
	if d.opts.Raw() && d.opts.Route.URL != "" {
		return modelgate.Endpoint{URL: d.opts.Route.URL, Name: name}, nil
	}
	return modelgate.Endpoint{URL: v.st.URL, Name: name}, nil
}

// SetStable serves dep at 100% in production without a canary and waits
// until it is rolled out; it seeds production (a first deployment).
func (d *Deployer) SetStable(ctx context.Context, dep modelgate.Deployment) error {
	if d.opts.Raw() {
		return d.rawRollOut(ctx, dep)
	}
	return d.rollOut(ctx, dep)
}

// StartCanary applies dep in production with canaryTrafficPercent percent
// and waits until KServe reports the split: dep's revision created and
// ready (latestCreatedRevision == latestReadyRevision) at percent, the last
// rolled-out revision at 100−percent. Without a rolled-out revision dep
// becomes stable at 100% (KServe ignores the field on a first revision).
// EPRECONDITION when the canary does not serve within CanaryTimeout: the
// promotion must roll back. In raw mode the candidate is NAME-canary and
// modelgate's route takes the split (rawStartCanary).
func (d *Deployer) StartCanary(ctx context.Context, dep modelgate.Deployment, percent int) error {
	if percent < 1 || percent > 99 {
		return modelgate.Errorf(modelgate.EINVALID, "canary percent %d is not within 1..99", percent)
	}
	if d.opts.Raw() {
		return d.rawStartCanary(ctx, dep, percent)
	}
	ns, name := d.opts.ProductionNamespace, d.opts.ServiceName(dep.Model)
	cur, err := d.get(ctx, ns, name)
	if err != nil {
		return err
	}
	if cur == nil || cur.st.Components.Predictor.LatestRolledoutRevision == "" {
		return d.rollOut(ctx, dep)
	}
	if m := cur.st.DeploymentMode; m != "" && m != "Knative" && m != "Serverless" {
		return modelgate.Errorf(modelgate.EPRECONDITION, "InferenceService %s/%s runs in %s mode, where KServe ignores canaryTrafficPercent", ns, name, m).
			WithHint("set platform.deployment_mode raw: modelgate then runs the canary as a second InferenceService behind its own route")
	}
	if err := d.keepPrevious(cur); err != nil {
		return err
	}
	pct := int64(percent)
	if _, err := d.put(ctx, envProduction, dep, ns, &pct); err != nil {
		return err
	}
	_, err = d.wait(ctx, ns, name, dep.Version, &pct, d.opts.CanaryTimeout, func(v *view) string {
		return d.canaryServing(ctx, v, pct)
	})
	if err != nil {
		return fmt.Errorf("canary %s version %s at %d%%: %w", dep.Model, dep.Version, percent, err)
	}
	return nil
}

// canaryServing returns why the canary split is not in effect yet ("" when
// it is).
func (d *Deployer) canaryServing(ctx context.Context, v *view, pct int64) string {
	p := v.st.Components.Predictor
	if !v.current() {
		return "status does not describe the current generation yet"
	}
	if p.LatestCreatedRevision == "" || p.LatestCreatedRevision != p.LatestReadyRevision {
		return "the canary revision is not ready (latestCreatedRevision != latestReadyRevision), so it is not serving"
	}
	split := v.split()
	if split[p.LatestCreatedRevision] != pct {
		return fmt.Sprintf("the canary revision %s takes %d%%, not %d%%", p.LatestCreatedRevision, split[p.LatestCreatedRevision], pct)
	}
	if prev := p.LatestRolledoutRevision; split[prev] != 100-pct {
		return fmt.Sprintf("the rolled-out revision %s takes %d%%, not %d%%", prev, split[prev], 100-pct)
	}
	return d.checkVirtualService(ctx, v, split)
}

// Promote removes canaryTrafficPercent so the canary's revision takes 100%,
// and waits until KServe reports it as latestRolledoutRevision. ECONFLICT
// when production's spec is not version. In raw mode the candidate's spec
// moves to NAME behind the route (rawPromote).
func (d *Deployer) Promote(ctx context.Context, model, version string) error {
	if d.opts.Raw() {
		return d.rawPromote(ctx, model, version)
	}
	ns, name := d.opts.ProductionNamespace, d.opts.ServiceName(model)
	cur, err := d.get(ctx, ns, name)
	if err != nil {
		return err
	}
	if cur == nil {
		return modelgate.Errorf(modelgate.ENOTFOUND, "InferenceService %s/%s does not exist", ns, name)
	}
	if cur.version() != version {
		return modelgate.Errorf(modelgate.ECONFLICT, "production's InferenceService %s/%s serves version %s, not %s", ns, name, cur.version(), version)
	}
	dep, err := deploymentOf(cur.obj)
	if err != nil {
		return err
	}
	return d.rollOut(ctx, dep)
}

// rollOut applies dep without canaryTrafficPercent and waits until its
// revision is rolled out at 100%.
func (d *Deployer) rollOut(ctx context.Context, dep modelgate.Deployment) error {
	ns, name := d.opts.ProductionNamespace, d.opts.ServiceName(dep.Model)
	if _, err := d.put(ctx, envProduction, dep, ns, nil); err != nil {
		return err
	}
	_, err := d.wait(ctx, ns, name, dep.Version, nil, d.opts.CanaryTimeout, func(v *view) string {
		return d.rolledOut(ctx, v)
	})
	if err != nil {
		return fmt.Errorf("roll out %s version %s: %w", dep.Model, dep.Version, err)
	}
	return nil
}

func (d *Deployer) rolledOut(ctx context.Context, v *view) string {
	p := v.st.Components.Predictor
	switch {
	case !v.current():
		return "status does not describe the current generation yet"
	case p.LatestCreatedRevision == "" || p.LatestCreatedRevision != p.LatestReadyRevision:
		return "the latest revision is not ready (latestCreatedRevision != latestReadyRevision)"
	case p.LatestRolledoutRevision != p.LatestCreatedRevision:
		return fmt.Sprintf("latestRolledoutRevision is %s, not %s", orNone(p.LatestRolledoutRevision), p.LatestCreatedRevision)
	case v.split()[p.LatestCreatedRevision] != 100:
		return fmt.Sprintf("revision %s does not take 100%% of the traffic", p.LatestCreatedRevision)
	}
	return d.checkVirtualService(ctx, v, v.split())
}

// Rollback serves previous at 100% and leaves production's spec equal to
// previous's. KServe-specific: while the canary is serving, it first applies
// previous's spec with canaryTrafficPercent 0 (KServe then sends every
// request to the last rolled-out revision, which is previous) and waits for
// the re-created revision to be ready, then removes the field; otherwise
// (the canary never became ready, or the candidate was already rolled out)
// it applies previous's spec without the field, since the latest ready
// revision keeps serving until the new one is ready. In raw mode: previous's
// spec on NAME, the route all on NAME, the candidate deleted (rawRollOut).
func (d *Deployer) Rollback(ctx context.Context, previous modelgate.Deployment) error {
	if d.opts.Raw() {
		return d.rawRollOut(ctx, previous)
	}
	ns, name := d.opts.ProductionNamespace, d.opts.ServiceName(previous.Model)
	cur, err := d.get(ctx, ns, name)
	if err != nil {
		return err
	}
	if cur == nil {
		return d.rollOut(ctx, previous)
	}
	_, hasCanary := cur.canaryPercent()
	p := cur.st.Components.Predictor
	if cur.version() == previous.Version && !hasCanary && d.rolledOut(ctx, cur) == "" {
		return nil // already rolled back
	}
	if cur.versionOf(p.LatestReadyRevision) != previous.Version && cur.versionOf(p.LatestRolledoutRevision) == previous.Version {
		zero := int64(0)
		if _, err := d.put(ctx, envProduction, previous, ns, &zero); err != nil {
			return err
		}
		_, err := d.wait(ctx, ns, name, previous.Version, &zero, d.opts.CanaryTimeout, func(v *view) string {
			return d.pinnedTo(v, previous.Version)
		})
		if err != nil {
			return fmt.Errorf("roll back %s to version %s (canaryTrafficPercent 0): %w", previous.Model, previous.Version, err)
		}
	}
	return d.rollOut(ctx, previous)
}

// pinnedTo returns why the pinned rollback state is not reached: every
// request on version and the re-created revision of it ready.
func (d *Deployer) pinnedTo(v *view, version string) string {
	p := v.st.Components.Predictor
	switch {
	case !v.current():
		return "status does not describe the current generation yet"
	case v.traffic().Stable != version || (v.traffic().Canary != "" && v.traffic().Canary != version):
		return fmt.Sprintf("traffic is not all on version %s yet", version)
	case p.LatestCreatedRevision != p.LatestReadyRevision:
		return fmt.Sprintf("the re-created revision of version %s is not ready yet", version)
	}
	return ""
}

// wait polls the InferenceService until why returns "" (and, in GitOps mode,
// the cluster holds the manifest's version and canary percent), up to
// timeout. EPRECONDITION after it, naming the last reason and the status.
func (d *Deployer) wait(ctx context.Context, ns, name, version string, canary *int64, timeout time.Duration, why func(*view) string) (*view, error) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	started, said := time.Now(), time.Now()
	for {
		v, err := d.get(ctx, ns, name)
		if err != nil {
			return nil, err
		}
		reason := "the InferenceService does not exist yet"
		if v != nil {
			reason = specReached(v, version, canary)
			if reason == "" {
				reason = why(v)
			}
			if reason == "" {
				return v, nil
			}
		}
		if d.Log != nil && time.Since(said) >= 30*time.Second {
			said = time.Now()
			d.Log.Warn(fmt.Sprintf("still waiting for InferenceService %s/%s after %s (of %s): %s", ns, name, time.Since(started).Round(time.Second), timeout, reason))
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-deadline.C:
			msg := fmt.Sprintf("InferenceService %s/%s not ready within %s: %s", ns, name, timeout, reason)
			if v != nil {
				msg += " [" + v.describe() + "]"
			}
			return nil, modelgate.Errorf(modelgate.EPRECONDITION, "%s", msg)
		case <-time.After(d.opts.PollInterval):
		}
	}
}

// specReached reports why the cluster's spec is not the one modelgate wrote
// (relevant in GitOps mode, where something else applies it).
func specReached(v *view, version string, canary *int64) string {
	got, has := v.canaryPercent()
	switch {
	case v.version() != version:
		return fmt.Sprintf("the cluster's InferenceService is version %q, not %s (waiting for it to be applied)", v.version(), version)
	case canary == nil && has:
		return fmt.Sprintf("the cluster's InferenceService still has canaryTrafficPercent %d", got)
	case canary != nil && (!has || got != *canary):
		return fmt.Sprintf("the cluster's InferenceService does not have canaryTrafficPercent %d yet", *canary)
	}
	return ""
}

type env int

const (
	envStaging env = iota
	envProduction
)

// put renders dep for namespace and applies it, or writes it in GitOps
// mode. In production it first records the revision map and when this
// split began (writeMemory): should the apply then fail or modelgate stop,
// the record names a split the InferenceService does not have, and
// Revisions ignores it.
func (d *Deployer) put(ctx context.Context, e env, dep modelgate.Deployment, ns string, canary *int64) (*unstructured.Unstructured, error) {
	obj, err := d.opts.Render(dep, ns, canary)
	if err != nil {
		return nil, err
	}
	if e == envProduction {
		if err := d.remember(ctx, ns, dep, canary); err != nil {
			return nil, err
		}
	}
	if d.opts.GitOpsDir != "" {
		return obj, d.writeManifest(e, obj)
	}
	return d.apply(ctx, obj, false)
}

// remember writes production's memory for dep at canary: the revisions
// seen so far and the split's start, kept when the split is unchanged.
func (d *Deployer) remember(ctx context.Context, ns string, dep modelgate.Deployment, canary *int64) error {
	name := d.opts.ServiceName(dep.Model)
	cur, err := d.get(ctx, ns, name)
	if err != nil {
		return err
	}
	mem, applied := memory{Revisions: map[string]string{}}, false
	if cur != nil {
		mem = memory{Revisions: cur.revisions(), Split: cur.mem.Split, UID: string(cur.obj.GetUID())}
		pct, has := cur.canaryPercent()
		applied = cur.version() == dep.Version && samePercent(ptrIf(pct, has), canary)
	}
	mem.Split = nextSplit(mem, applied, dep.Version, canary, d.now())
	return d.writeMemory(ctx, ns, name, mem)
}
