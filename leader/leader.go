package leader

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	authorizationv1client "k8s.io/client-go/kubernetes/typed/authorization/v1"
	coordinationv1 "k8s.io/client-go/kubernetes/typed/coordination/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"

	"github.com/modelgate/modelgate"
)

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

	client coordinationv1.CoordinationV1Interface
	access authorizationv1client.AuthorizationV1Interface // to check permissions

	mu      sync.Mutex
	leading bool
	holder  string // the last leader seen, "" before any
}

// New returns an Elector for the Lease namespace/name talking to the API
// server of cfg.
func New(cfg *rest.Config, namespace, name, identity string) (*Elector, error) {
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return nil, modelgate.Errorf(modelgate.EINVALID, "leader election: Kubernetes client: %v", err)
	}
	c, err := coordinationv1.NewForConfigAndClient(cfg, hc)
	if err != nil {
		return nil, modelgate.Errorf(modelgate.EINVALID, "leader election: Kubernetes client: %v", err)
	}
	a, err := authorizationv1client.NewForConfigAndClient(cfg, hc)
	if err != nil {
		return nil, modelgate.Errorf(modelgate.EINVALID, "leader election: Kubernetes client: %v", err)
	}
	return &Elector{Namespace: namespace, Name: name, Identity: identity,
		LeaseDuration: 15 * time.Second, RenewDeadline: 10 * time.Second, RetryPeriod: 2 * time.Second,
		client: c, access: a}, nil
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
	case float64(e.RenewDeadline) <= leaderelection.JitterFactor*float64(e.RetryPeriod):
		return modelgate.Errorf(modelgate.EINVALID, "leader election: renew_deadline (%s) must be longer than %.1f × retry_period (%s)", e.RenewDeadline, leaderelection.JitterFactor, e.RetryPeriod)
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
		review := &authorizationv1.SelfSubjectAccessReview{Spec: authorizationv1.SelfSubjectAccessReviewSpec{
			ResourceAttributes: &authorizationv1.ResourceAttributes{Namespace: e.Namespace, Verb: verb, Group: "coordination.k8s.io", Resource: "leases"}}}
		got, err := e.access.SelfSubjectAccessReviews().Create(ctx, review, metav1.CreateOptions{})
		if err != nil {
			return e.apiError(err, "leader election: check the permission to %s Leases in %s", verb, e.Namespace)
		}
		if !got.Status.Allowed {
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

// campaign runs one client-go election: acquire, lead, lose or give up.
func (e *Elector) campaign(ctx context.Context, lead func(ctx context.Context)) error {
	// The election's own context outlives ctx until lead has returned, so
	// the release on cancel comes after the leader's work stopped.
	electCtx, cancelElect := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelElect()
	started := make(chan context.Context, 1)
	le, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
		Lock: &resourcelock.LeaseLock{
			LeaseMeta:  metav1.ObjectMeta{Namespace: e.Namespace, Name: e.Name},
			Client:     e.client,
			LockConfig: resourcelock.ResourceLockConfig{Identity: e.Identity},
		},
		LeaseDuration: e.LeaseDuration, RenewDeadline: e.RenewDeadline, RetryPeriod: e.RetryPeriod,
		ReleaseOnCancel: true,
		Name:            e.Namespace + "/" + e.Name,
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: func(lctx context.Context) { started <- lctx },
			OnStoppedLeading: func() {},
			OnNewLeader:      e.observe,
		},
	})
	if err != nil {
		return modelgate.Errorf(modelgate.EINVALID, "leader election: %v", err)
	}
	done := make(chan struct{})
	go func() { defer close(done); le.Run(electCtx) }()
	select {
	case lctx := <-started:
		e.lead(ctx, lctx, lead)
	case <-ctx.Done():
	}
	cancelElect()
	<-done
	return nil
}

// lead runs the caller's work while this process leads.
func (e *Elector) lead(ctx, lctx context.Context, lead func(ctx context.Context)) {
	wctx, cancel := context.WithCancel(lctx)
	defer cancel()
	stop := context.AfterFunc(ctx, cancel)
	defer stop()
	e.setLeading(true)
	defer e.setLeading(false)
	e.logger().Info("leading", "lease", e.Namespace+"/"+e.Name, "identity", e.Identity)
	lead(wctx)
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
