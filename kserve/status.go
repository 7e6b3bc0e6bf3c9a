package kserve

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/modelgate/modelgate"
)

// isvcStatus is the part of an InferenceService's status modelgate reads
// (kserve pkg/apis/serving/v1beta1/inference_service_status.go).
type isvcStatus struct {
	ObservedGeneration int64       `json:"observedGeneration"`
	URL                string      `json:"url"`
	Conditions         []condition `json:"conditions"`
	DeploymentMode     string      `json:"deploymentMode"`
	Components         struct {
		Predictor componentStatus `json:"predictor"`
	} `json:"components"`
}

type condition struct {
	Type    string `json:"type"`
	Status  string `json:"status"`
	Reason  string `json:"reason,omitempty"`
	Message string `json:"message,omitempty"`
}

type componentStatus struct {
	LatestReadyRevision       string          `json:"latestReadyRevision"`
	LatestCreatedRevision     string          `json:"latestCreatedRevision"`
	PreviousRolledoutRevision string          `json:"previousRolledoutRevision"`
	LatestRolledoutRevision   string          `json:"latestRolledoutRevision"`
	Traffic                   []trafficTarget `json:"traffic"`
}

type trafficTarget struct {
	Tag            string `json:"tag,omitempty"`
	RevisionName   string `json:"revisionName"`
	LatestRevision *bool  `json:"latestRevision,omitempty"`
	Percent        *int64 `json:"percent,omitempty"`
	URL            string `json:"url,omitempty"`
}

// view is an InferenceService with its status decoded and, in
// production, modelgate's memory of it.
type view struct {
	obj *unstructured.Unstructured
	st  isvcStatus
	mem memory
}

func newView(obj *unstructured.Unstructured) (*view, error) {
	v := &view{obj: obj}
	if raw, ok := obj.Object["status"]; ok {
		b, err := json.Marshal(raw)
		if err != nil {
			return nil, err
		}
		if err := json.Unmarshal(b, &v.st); err != nil {
			return nil, fmt.Errorf("decode status of %s/%s: %w", obj.GetNamespace(), obj.GetName(), err)
		}
	}
	return v, nil
}

// current reports whether status describes the current spec.
func (v *view) current() bool { return v.st.ObservedGeneration >= v.obj.GetGeneration() }

func (v *view) condition(t string) condition {
	for _, c := range v.st.Conditions {
		if c.Type == t {
			return c
		}
	}
	return condition{Type: t, Status: "Unknown"}
}

func (v *view) ready() bool { return v.current() && v.condition("Ready").Status == "True" }

func (v *view) version() string { return v.obj.GetAnnotations()[AnnotationVersion] }

func (v *view) canaryPercent() (int64, bool) {
	p, ok, _ := unstructured.NestedInt64(v.obj.Object, "spec", "predictor", "canaryTrafficPercent")
	return p, ok
}

// revisions returns the revision→version map: the recorded one plus, when
// status describes the current spec, its latest created revision.
func (v *view) revisions() map[string]string {
	m := map[string]string{}
	for rev, ver := range v.mem.Revisions {
		m[rev] = ver
	}
	// A revision's template never changes, so a name already remembered
	// keeps its version: status can look current while it is stale (KServe
	// copies observedGeneration from the Knative Service, whose generation
	// may run ahead of the InferenceService's).
	if p := v.st.Components.Predictor; v.current() && p.LatestCreatedRevision != "" && v.version() != "" {
		if _, known := m[p.LatestCreatedRevision]; !known {
			m[p.LatestCreatedRevision] = v.version()
		}
	}
	return m
}

// versionOf names the version a revision serves, or the revision itself
// (which never equals a version) when modelgate did not create it.
func (v *view) versionOf(rev string) string {
	if ver, ok := v.revisions()[rev]; ok {
		return ver
	}
	return rev
}

// split returns the percent each revision serves, summed as KServe does.
func (v *view) split() map[string]int64 {
	out := map[string]int64{}
	for _, t := range v.st.Components.Predictor.Traffic {
		if t.Percent != nil && t.RevisionName != "" {
			out[t.RevisionName] += *t.Percent
		}
	}
	return out
}

// traffic maps the revision split to versions: the latest-revision entry is
// the canary while it takes less than 100%; the spec's version, when it
// serves nothing yet, is a canary at 0%.
func (v *view) traffic() modelgate.TrafficSplit {
	byVersion := map[string]int{}
	latest := ""
	for _, t := range v.st.Components.Predictor.Traffic {
		if t.Percent == nil || t.RevisionName == "" {
			continue
		}
		ver := v.versionOf(t.RevisionName)
		byVersion[ver] += int(*t.Percent)
		if t.LatestRevision != nil && *t.LatestRevision {
			latest = ver
		}
	}
	var ts modelgate.TrafficSplit
	for ver, pct := range byVersion {
		switch {
		case pct == 0:
		case pct == 100:
			ts.Stable = ver
		case ver == latest:
			ts.Canary, ts.CanaryPercent = ver, pct
		default:
			ts.Stable = ver
		}
	}
	// A spec version that serves nothing yet (its revision is not ready) is
	// a pending canary at 0%, so "already done" checks do not mistake it
	// for a finished rollback; so is a spec still holding
	// canaryTrafficPercent with no canary found: Rollback's pin (0%), left
	// by a crash before Rollback removed the field.
	_, pinned := v.canaryPercent()
	if spec := v.version(); spec != "" && ts.Canary == "" && (spec != ts.Stable || pinned) {
		ts.Canary, ts.CanaryPercent = spec, 0
	}
	return ts
}

// describe summarises status for an error message.
func (v *view) describe() string {
	p := v.st.Components.Predictor
	var b strings.Builder
	fmt.Fprintf(&b, "generation %d observed %d", v.obj.GetGeneration(), v.st.ObservedGeneration)
	if p.LatestCreatedRevision != "" {
		fmt.Fprintf(&b, "; latestCreatedRevision %s, latestReadyRevision %s, latestRolledoutRevision %s", p.LatestCreatedRevision, orNone(p.LatestReadyRevision), orNone(p.LatestRolledoutRevision))
	}
	if s := v.split(); len(s) > 0 {
		revs := make([]string, 0, len(s))
		for r := range s {
			revs = append(revs, r)
		}
		sort.Strings(revs)
		parts := make([]string, len(revs))
		for i, r := range revs {
			parts[i] = fmt.Sprintf("%s=%d%%", r, s[r])
		}
		b.WriteString("; traffic " + strings.Join(parts, " "))
	}
	var conds []string
	for _, c := range v.st.Conditions {
		if c.Status == "True" {
			continue
		}
		s := c.Type + "=" + c.Status
		if c.Reason != "" {
			s += " (" + c.Reason
			if c.Message != "" {
				s += ": " + c.Message
			}
			s += ")"
		}
		conds = append(conds, s)
	}
	if len(conds) > 0 {
		b.WriteString("; conditions " + strings.Join(conds, ", "))
	} else if len(v.st.Conditions) == 0 {
		b.WriteString("; no conditions reported yet (is the KServe controller running?)")
	}
	return b.String()
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}
