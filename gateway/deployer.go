package gateway

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/modelgate/modelgate"
)

var _ modelgate.Deployer = (*Deployer)(nil)

// Deployer implements modelgate.Deployer for the local gateway by calling
// its admin API (and its data plane for readiness and endpoints).
type Deployer struct {
	c     client // the data plane
	admin client
	// PollInterval is how often DeployStaging asks whether staging is
	// ready. Default 100ms.
	PollInterval time.Duration
	// MirrorPercent is the share (0..100) of the stable revision's requests
	// StartCanary asks the gateway to mirror to the canary for a paired
	// comparison (RevisionStats.Paired). Default 0: no mirroring.
	MirrorPercent int
}

// NewDeployer returns a Deployer for a gateway serving its data plane and
// admin API on one base URL (Server.Handler; for example
// "http://127.0.0.1:8080"), without a token; a nil client means
// http.DefaultClient. NewDeployerFor reaches a served gateway.
func NewDeployer(baseURL string, client *http.Client) *Deployer {
	return NewDeployerFor(Endpoints{URL: baseURL, Client: client})
}

// NewDeployerFor returns a Deployer for the gateway at ep.
func NewDeployerFor(ep Endpoints) *Deployer {
	return &Deployer{c: newClient(ep.URL, ep.Client), admin: newAdminClient(ep), PollInterval: 100 * time.Millisecond}
}

// CheckTarget checks the gateway answers its readiness probe and lets this
// client use its admin API; any model can be served locally. EUNAVAILABLE
// when it does not answer, EUNAUTHORIZED without the right admin token.
func (d *Deployer) CheckTarget(ctx context.Context, model string) error {
	if err := d.checkReady(ctx); err != nil {
		return err
	}
	var list []Status
	return d.admin.do(ctx, http.MethodGet, adminPrefix, nil, &list)
}

// checkReady asks the data plane's readiness probe.
func (d *Deployer) checkReady(ctx context.Context) error {
	err := d.c.do(ctx, http.MethodGet, "/v2/health/ready", nil, nil)
	var e *modelgate.Error
	if err == nil || ctx.Err() != nil || (errors.As(err, &e) && e.Code == modelgate.EUNAVAILABLE && e.Hint != "") {
		return err // ok, cancelled, or unreachable (with its hint)
	}
	e = modelgate.Errorf(modelgate.EUNAVAILABLE, "the local gateway at %s is not ready: %s", d.c.display, modelgate.ErrorMessage(err))
	return e.WithHint("start it with `modelgate serve`")
}

// DeployStaging serves dep under /staging and waits until staging answers
// with dep's version, up to timeout (EPRECONDITION after it).
func (d *Deployer) DeployStaging(ctx context.Context, dep modelgate.Deployment, timeout time.Duration) (modelgate.Endpoint, error) {
	if err := d.admin.do(ctx, http.MethodPut, modelPath(dep.Model, "/staging"), dep, nil); err != nil {
		return modelgate.Endpoint{}, err
	}
	if err := d.waitStaging(ctx, dep, timeout); err != nil {
		return modelgate.Endpoint{}, err
	}
	return modelgate.Endpoint{URL: d.c.base + StagingPrefix, Name: dep.Model}, nil
}

func (d *Deployer) waitStaging(ctx context.Context, dep modelgate.Deployment, timeout time.Duration) error {
	path := StagingPrefix + "/v2/models/" + url.PathEscape(dep.Model) + "/ready"
	interval := d.PollInterval
	if interval <= 0 {
		interval = 100 * time.Millisecond
	}
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		version, err := d.stagingVersion(ctx, path)
		if err == nil && version == dep.Version {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline.C:
			msg := fmt.Sprintf("staging did not serve model %q version %s within %s", dep.Model, dep.Version, timeout)
			if err != nil {
				msg += ": " + modelgate.ErrorMessage(err)
			}
			// Not ready in time is a failed step, not a transient outage:
			// the promotion must stop rather than wait to be resumed.
			return &modelgate.Error{Code: modelgate.EPRECONDITION, Message: msg, Err: err}
		case <-time.After(interval):
		}
	}
}

// stagingVersion returns the version staging answers its readiness probe with.
func (d *Deployer) stagingVersion(ctx context.Context, path string) (string, error) {
	resp, err := d.c.send(ctx, http.MethodGet, path, nil)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", responseError(http.MethodGet, path, resp)
	}
	return resp.Header.Get(HeaderModelVersion), nil
}

// Traffic returns production's split; Stable is "" when nothing is served.
func (d *Deployer) Traffic(ctx context.Context, model string) (modelgate.TrafficSplit, error) {
	st, err := d.Status(ctx, model)
	return st.Traffic, err
}

// Status returns what the gateway serves for model.
func (d *Deployer) Status(ctx context.Context, model string) (Status, error) {
	var st Status
	err := d.admin.do(ctx, http.MethodGet, modelPath(model, ""), nil, &st)
	return st, err
}

// StartCanary serves dep next to the stable revision at percent (1..99),
// mirroring MirrorPercent of the stable requests to it; without a stable
// revision dep becomes stable at 100%.
func (d *Deployer) StartCanary(ctx context.Context, dep modelgate.Deployment, percent int) error {
	req := CanaryRequest{Deployment: dep, Percent: percent, MirrorPercent: d.MirrorPercent}
	return d.admin.do(ctx, http.MethodPut, modelPath(dep.Model, "/canary"), req, nil)
}

// Promote makes the canary version stable at 100%. ECONFLICT when version
// is neither the canary nor the only stable revision.
func (d *Deployer) Promote(ctx context.Context, model, version string) error {
	return d.admin.do(ctx, http.MethodPost, modelPath(model, "/promote"), PromoteRequest{Version: version}, nil)
}

// Rollback serves previous at 100% and removes any canary.
func (d *Deployer) Rollback(ctx context.Context, previous modelgate.Deployment) error {
	return d.admin.do(ctx, http.MethodPost, modelPath(previous.Model, "/rollback"), previous, nil)
}

// SetStable serves dep at 100% in production and removes any canary; it
// seeds production (the demo serves its first version this way).
func (d *Deployer) SetStable(ctx context.Context, dep modelgate.Deployment) error {
	return d.admin.do(ctx, http.MethodPut, modelPath(dep.Model, "/stable"), dep, nil)
}

// Production returns production's endpoint: the gateway's root. It does no
// I/O and fails only for a cancelled ctx.
func (d *Deployer) Production(ctx context.Context, model string) (modelgate.Endpoint, error) {
	return modelgate.Endpoint{URL: d.c.base, Name: model}, ctx.Err()
}
