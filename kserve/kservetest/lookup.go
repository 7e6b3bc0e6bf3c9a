package kservetest

import (
	"context"
	"fmt"
	"net/url"
	"sort"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Revision is one Knative revision of an InferenceService's predictor.
type Revision struct {
	Name    string
	Version string    // the predictor's modelgate.dev/version label
	Created time.Time // when it was created
	Ready   bool
}

// Revisions returns the Knative revisions of InferenceService ns/name,
// oldest first, from whichever plays Knative: the Knative Service stand-in
// or Knative's own controllers (StartReal). In RawDeployment mode, or
// without StartReal, there are none.
func (c *Cluster) Revisions(ns, name string) []Revision {
	switch {
	case c.Real != nil && c.Real.Ksvc != nil:
		return c.Real.Ksvc.Revisions(ns, name+"-predictor")
	case c.Real != nil && c.Real.Knative != nil:
		return c.knativeRevisions(ns, name+"-predictor")
	}
	return nil
}

// knativeRevisions reads the Revision objects Knative created for its
// Service ns/ksvc, oldest first.
func (c *Cluster) knativeRevisions(ns, ksvc string) []Revision {
	list, err := c.Dyn.Resource(KnativeRevision).Namespace(ns).List(context.Background(), metav1.ListOptions{LabelSelector: "serving.knative.dev/service=" + ksvc})
	if err != nil {
		return nil
	}
	var out []Revision
	for _, o := range list.Items {
		r := Revision{Name: o.GetName(), Version: o.GetLabels()["modelgate.dev/version"], Created: o.GetCreationTimestamp().Time}
		conds, _, _ := unstructured.NestedSlice(o.Object, "status", "conditions")
		for _, cd := range conds {
			cd, _ := cd.(map[string]any)
			r.Ready = r.Ready || (cd["type"] == "Ready" && cd["status"] == "True")
		}
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// RevisionVersion is the version revision of InferenceService ns/name
// serves ("" when unknown).
func (c *Cluster) RevisionVersion(ns, name, revision string) string {
	for _, r := range c.Revisions(ns, name) {
		if r.Name == revision {
			return r.Version
		}
	}
	return ""
}

// ServiceForHost returns the InferenceService whose status URL (its own,
// or its predictor's) has host: what the cluster's ingress would route a
// request for host to. A data plane standing in for the model servers uses
// it to answer requests sent to the URLs KServe publishes.
func (c *Cluster) ServiceForHost(ctx context.Context, host string) (*unstructured.Unstructured, error) {
	list, err := c.Dyn.Resource(ISVC).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	for i := range list.Items {
		o := &list.Items[i]
		for _, path := range [][]string{{"status", "url"}, {"status", "components", "predictor", "url"}, {"status", "address", "url"}} {
			s, _, _ := unstructured.NestedString(o.Object, path...)
			if u, err := url.Parse(s); err == nil && s != "" && u.Host == host {
				return o, nil
			}
		}
	}
	return nil, fmt.Errorf("no InferenceService publishes a URL with host %s", host)
}
