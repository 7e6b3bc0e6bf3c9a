package kserve

import (
	"context"
	"time"

	"github.com/modelgate/modelgate"
)

// Revisions is production's split by Knative revision, for metrics sources
// that label series by revision.
type Revisions struct {
	Namespace      string    `json:"namespace"`
	Service        string    `json:"service"`
	StableRevision string    `json:"stable_revision"`
	StableVersion  string    `json:"stable_version"`
	CanaryRevision string    `json:"canary_revision,omitempty"`
	CanaryVersion  string    `json:"canary_version,omitempty"`
	CanaryPercent  int64     `json:"canary_percent"`
	Since          time.Time `json:"since"` // when the current split was applied; zero if unknown
}

// Revisions returns production's revisions: the last rolled-out one as
// stable and, during a canary, the latest ready one; in raw mode the
// predictor Deployments of NAME and NAME-canary, with the route's split.
// ENOTFOUND when the InferenceService does not exist.
func (d *Deployer) Revisions(ctx context.Context, model string) (Revisions, error) {
	if d.opts.Raw() {
		return d.rawRevisions(ctx, model)
	}
	ns, name := d.opts.ProductionNamespace, d.opts.ServiceName(model)
	v, err := d.get(ctx, ns, name)
	if err != nil {
		return Revisions{}, err
	}
	if v == nil {
		return Revisions{}, modelgate.Errorf(modelgate.ENOTFOUND, "InferenceService %s/%s does not exist", ns, name)
	}
	p := v.st.Components.Predictor
	r := Revisions{Namespace: ns, Service: name, StableRevision: p.LatestRolledoutRevision}
	r.StableVersion = v.versionOf(r.StableRevision)
	split := v.split()
	if p.LatestReadyRevision != "" && p.LatestReadyRevision != p.LatestRolledoutRevision && split[p.LatestReadyRevision] > 0 {
		r.CanaryRevision, r.CanaryVersion = p.LatestReadyRevision, v.versionOf(p.LatestReadyRevision)
		r.CanaryPercent = split[p.LatestReadyRevision]
	}
	if pct, has := v.canaryPercent(); v.mem.Split.Version == v.version() && samePercent(v.mem.Split.Canary, ptrIf(pct, has)) {
		r.Since = v.mem.Split.Since
	}
	return r, nil
}

// ptrIf is &p when has, else nil.
func ptrIf(p int64, has bool) *int64 {
	if !has {
		return nil
	}
	return &p
}
