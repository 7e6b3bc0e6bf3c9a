package leader

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"

	"github.com/modelgate/modelgate"
)

// jitterFactor is client-go's: the renew deadline must leave room for one
// retry period stretched by this much.
const jitterFactor = 1.2

func leases() schema.GroupVersionResource {
	return schema.GroupVersionResource{Group: "coordination.k8s.io", Version: "v1", Resource: "leases"}
}

func accessReviews() schema.GroupVersionResource {
	return schema.GroupVersionResource{Group: "authorization.k8s.io", Version: "v1", Resource: "selfsubjectaccessreviews"}
}

// Elector campaigns for one Lease on behalf of one identity. Set the
// timings before Run; New sets the defaults core Kubernetes components use.
type Elector struct {
	Namespace string // the Lease's namespace. Required.
	Name      string // the Lease's name. Required.
	// Identity names this replica in the Lease's holderIdentity; unique per
	// process (a restarted replica is a new candidate). Required.
	Identity string
	// LeaseDuration is how long a standby waits, after it last saw the
	// Lease change, before it takes the Lease over: the failover time after
	// a crash. Default 15s.
	LeaseDuration time.Duration
	// RenewDeadline is how long the leader keeps trying to renew before it
	// gives up leading; shorter than LeaseDuration, so it stops before a
	// standby may start. Default 10s.
	RenewDeadline time.Duration
	// RetryPeriod is how often candidates try to acquire and the leader
	// renews. Default 2s.
	RetryPeriod time.Duration
	Logger      *slog.Logger // default slog.Default()

	client dynamic.Interface

	mu      sync.Mutex
	leading bool
	holder  string // the last leader seen, "" before any
	// seen is the Lease record last observed and seenAt when it changed,
	// by this process's clock: a holder is dead once its record has not
	// changed for LeaseDuration.
	seen   string
	seenAt time.Time
}

// New returns an Elector for the Lease namespace/name talking to the API
// server of cfg.
func New(cfg *rest.Config, namespace, name, identity string) (*Elector, error) {
	c, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, modelgate.Errorf(modelgate.EINVALID, "leader election: Kubernetes client: %v", err)
	}
	return &Elector{Namespace: namespace, Name: name, Identity: identity,
		LeaseDuration: 15 * time.Second, RenewDeadline: 10 * time.Second, RetryPeriod: 2 * time.Second,
		client: c}, nil
}

// Validate checks the fields, with client-go's rule for the timings: a
// leader must give up (RenewDeadline) before a standby may take over
// (LeaseDuration), with room for one retry's jitter.
func (e *Elector) Validate() error {
	switch {
	case e.Namespace == "" || e.Name == "":
		return modelgate.Errorf(modelgate.EINVALID, "leader election: the Lease's namespace and name are required")
	case e.Identity == "":
		return modelgate.Errorf(modelgate.EINVALID, "leader election: an identity is required")
	case e.RetryPeriod <= 0 || e.RenewDeadline <= 0 || e.LeaseDuration <= 0:
		return modelgate.Errorf(modelgate.EINVALID, "leader election: lease_duration, renew_deadline and retry_period must be positive")
	case e.LeaseDuration <= e.RenewDeadline:
		return modelgate.Errorf(modelgate.EINVALID, "leader election: lease_duration (%s) must be longer than renew_deadline (%s)", e.LeaseDuration, e.RenewDeadline)
	case float64(e.RenewDeadline) <= jitterFactor*float64(e.RetryPeriod):
		return modelgate.Errorf(modelgate.EINVALID, "leader election: renew_deadline (%s) must be longer than %.1f × retry_period (%s)", e.RenewDeadline, jitterFactor, e.RetryPeriod)
	}
	return nil
}

// Leading reports whether this process leads now.
func (e *Elector) Leading() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.leading
}

// Leader names the leader last seen ("" before the first observation).
func (e *Elector) Leader() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.holder
}

// Check asks the API server whether this identity may get, create and
// update Leases in Namespace, so a missing permission or an unreachable API
// server fails at start rather than leaving a replica that never leads
// (client-go only logs and retries).
func (e *Elector) Check(ctx context.Context) error {
	for _, verb := range []string{"get", "create", "update"} {
		review := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
			"spec": map[string]any{"resourceAttributes": map[string]any{
				"namespace": e.Namespace, "verb": verb, "group": "coordination.k8s.io", "resource": "leases"}}}}
		got, err := e.client.Resource(accessReviews()).Create(ctx, review, metav1.CreateOptions{})
		if err != nil {
			return e.apiError(err, "leader election: check the permission to %s Leases in %s", verb, e.Namespace)
		}
		if allowed, _, _ := unstructured.NestedBool(got.Object, "status", "allowed"); !allowed {
			return &modelgate.Error{Code: modelgate.EUNAUTHORIZED,
				Message: fmt.Sprintf("leader election: modelgate may not %s leases.coordination.k8s.io in namespace %s", verb, e.Namespace),
				Hint:    "grant get, create and update on leases in the server's namespace (deploy/rbac.yaml)"}
		}
	}
	return nil
}

// apiError translates an API server error into a modelgate.Error.
func (e *Elector) apiError(err error, format string, args ...any) error {
	what := fmt.Sprintf(format, args...)
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%s: %w", what, err)
	case apierrors.IsForbidden(err), apierrors.IsUnauthorized(err):
		return &modelgate.Error{Code: modelgate.EUNAUTHORIZED, Message: what + ": " + err.Error(), Err: err}
	}
	return &modelgate.Error{Code: modelgate.EUNAVAILABLE, Message: what + ": the Kubernetes API server: " + err.Error(), Err: err}
}

// Run campaigns until ctx ends. Each time this process wins, lead runs with
// a context that ends when the lease is lost or ctx ends; lead must return
// soon after, having stopped the leader's work. Only then is the lease
// released (on ctx's end), so a standby never starts while this one still
// works; after a crash the lease expires instead (LeaseDuration). When lead
// returns early, this process gives the lease up and campaigns again.
func (e *Elector) Run(ctx context.Context, lead func(ctx context.Context)) error {
	if err := e.Validate(); err != nil {
		return err
	}
	if err := e.Check(ctx); err != nil {
		return err
	}
	for ctx.Err() == nil {
		if err := e.campaign(ctx, lead); err != nil {
			return err
		}
		select { // a pause, so a lead that fails at once does not spin
		case <-ctx.Done():
		case <-time.After(e.RetryPeriod):
		}
	}
	return nil
}

// campaign acquires the Lease, leads while it renews it, and gives it up
// when lead returns.
func (e *Elector) campaign(ctx context.Context, lead func(ctx context.Context)) error {
	if !e.acquire(ctx) {
		return nil
	}
	lctx, lost := context.WithCancel(ctx)
	defer lost()
	renewing := make(chan struct{})
	go func() { defer close(renewing); e.renew(lctx, lost) }()
	e.lead(lctx, lead)
	lost()
	<-renewing
	// Released only now that the leader's work stopped, so a standby never
	// starts while this one still works. A lost Lease is not ours to release.
	e.release(context.WithoutCancel(ctx))
	return nil
}

// acquire tries every RetryPeriod until this process holds the Lease
// (true) or ctx ends (false).
func (e *Elector) acquire(ctx context.Context) bool {
	for {
		if ok, err := e.tryAcquireOrRenew(ctx); err != nil {
			e.logger().Warn("leader election: cannot read or write the Lease", "lease", e.Namespace+"/"+e.Name, "err", err)
		} else if ok {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(e.RetryPeriod):
		}
	}
}

// renew renews the Lease every RetryPeriod; when no renewal has succeeded
// for RenewDeadline (shorter than LeaseDuration, so before a standby may
// take over) it calls lost.
func (e *Elector) renew(ctx context.Context, lost func()) {
	last := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(e.RetryPeriod):
		}
		rctx, cancel := context.WithTimeout(ctx, e.RetryPeriod)
		ok, err := e.tryAcquireOrRenew(rctx)
		cancel()
		if ok {
			last = time.Now()
			continue
		}
		if ctx.Err() == nil && time.Since(last) > e.RenewDeadline {
			e.logger().Warn("leader election: lost the Lease", "lease", e.Namespace+"/"+e.Name, "err", err)
			lost()
			return
		}
	}
}

// tryAcquireOrRenew takes or renews the Lease when it is free, ours, or
// its holder has not renewed it for LeaseDuration. The update carries the
// read's resourceVersion, so of two candidates only one wins.
func (e *Elector) tryAcquireOrRenew(ctx context.Context) (bool, error) {
	now := time.Now()
	r := e.client.Resource(leases()).Namespace(e.Namespace)
	obj, err := r.Get(ctx, e.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		obj = &unstructured.Unstructured{Object: map[string]any{"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
			"metadata": map[string]any{"name": e.Name, "namespace": e.Namespace}}}
		e.claim(obj, now, "")
		if _, err := r.Create(ctx, obj, metav1.CreateOptions{}); err != nil {
			return false, ignoreRace(err)
		}
		e.observe(e.Identity)
		return true, nil
	} else if err != nil {
		return false, err
	}
	holder, _, _ := unstructured.NestedString(obj.Object, "spec", "holderIdentity")
	if holder != "" && holder != e.Identity && !e.expired(obj, holder, now) {
		e.observe(holder)
		return false, nil
	}
	e.claim(obj, now, holder)
	if _, err := r.Update(ctx, obj, metav1.UpdateOptions{}); err != nil {
		return false, ignoreRace(err)
	}
	e.observe(e.Identity)
	return true, nil
}

// expired reports whether holder's record has not changed for
// LeaseDuration, as this process has watched it.
func (e *Elector) expired(obj *unstructured.Unstructured, holder string, now time.Time) bool {
	renewed, _, _ := unstructured.NestedString(obj.Object, "spec", "renewTime")
	record := holder + "@" + renewed
	e.mu.Lock()
	defer e.mu.Unlock()
	if record != e.seen {
		e.seen, e.seenAt = record, now
	}
	return now.Sub(e.seenAt) > e.LeaseDuration
}

// claim writes this process as the Lease's holder; previous is the holder
// it replaces ("" for none).
func (e *Elector) claim(obj *unstructured.Unstructured, now time.Time, previous string) {
	ts := now.UTC().Format("2006-01-02T15:04:05.000000Z07:00")
	spec, _, _ := unstructured.NestedMap(obj.Object, "spec")
	if spec == nil {
		spec = map[string]any{}
	}
	if previous != e.Identity {
		spec["acquireTime"] = ts
		n, _, _ := unstructured.NestedInt64(obj.Object, "spec", "leaseTransitions")
		if previous != "" {
			n++
		}
		spec["leaseTransitions"] = n
	}
	spec["holderIdentity"] = e.Identity
	spec["renewTime"] = ts
	spec["leaseDurationSeconds"] = int64(math.Ceil(e.LeaseDuration.Seconds()))
	obj.Object["spec"] = spec
}

// release gives the Lease up, if this process still holds it, so a
// standby takes over at its next try rather than after LeaseDuration.
func (e *Elector) release(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, e.RetryPeriod)
	defer cancel()
	r := e.client.Resource(leases()).Namespace(e.Namespace)
	obj, err := r.Get(ctx, e.Name, metav1.GetOptions{})
	if err != nil {
		return
	}
	if holder, _, _ := unstructured.NestedString(obj.Object, "spec", "holderIdentity"); holder != e.Identity {
		return
	}
	_ = unstructured.SetNestedField(obj.Object, "", "spec", "holderIdentity")
	_ = unstructured.SetNestedField(obj.Object, int64(1), "spec", "leaseDurationSeconds")
	if _, err := r.Update(ctx, obj, metav1.UpdateOptions{}); err != nil {
		e.logger().Warn("leader election: cannot release the Lease; a standby takes it over once it expires", "err", err)
	}
}

// ignoreRace turns losing a race with another candidate into "not won".
func ignoreRace(err error) error {
	if apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err) {
		return nil
	}
	return err
}

// lead runs the caller's work while this process leads.
func (e *Elector) lead(lctx context.Context, lead func(ctx context.Context)) {
	e.setLeading(true)
	defer e.setLeading(false)
	e.logger().Info("leading", "lease", e.Namespace+"/"+e.Name, "identity", e.Identity)
	lead(lctx)
	e.logger().Info("stopped leading", "lease", e.Namespace+"/"+e.Name, "identity", e.Identity)
}

func (e *Elector) setLeading(v bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.leading = v
	if v {
		e.holder = e.Identity
	}
}

func (e *Elector) observe(identity string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.holder = identity
}

func (e *Elector) logger() *slog.Logger {
	if e.Logger != nil {
		return e.Logger
	}
	return slog.Default()
}
