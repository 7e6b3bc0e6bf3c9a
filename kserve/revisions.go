package kserve

import (
	"context"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/modelgate/modelgate"
)

// AnnotationSplitSince records when production's current spec (version and
// canary percent) was first applied: the start of the window metrics are
// read over.
const AnnotationSplitSince = "modelgate.dev/split-since"

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
	if t, err := time.Parse(time.RFC3339, v.obj.GetAnnotations()[AnnotationSplitSince]); err == nil {
		r.Since = t
	}
	return r, nil
}

// stampSince sets AnnotationSplitSince on obj: kept from cur when cur has the
// same version and canary percent, else now.
func stampSince(obj *unstructured.Unstructured, cur *view, now time.Time) {
	since := now.UTC().Format(time.RFC3339)
	if cur != nil {
		oldPct, oldHas := cur.canaryPercent()
		newPct, newHas, _ := unstructured.NestedInt64(obj.Object, "spec", "predictor", "canaryTrafficPercent")
		old := cur.obj.GetAnnotations()[AnnotationSplitSince]
		if old != "" && cur.version() == obj.GetAnnotations()[AnnotationVersion] && oldHas == newHas && oldPct == newPct {
			since = old
		}
	}
	a := obj.GetAnnotations()
	a[AnnotationSplitSince] = since
	obj.SetAnnotations(a)
}
