package kservetest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"reflect"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"
)

// KsvcStandIn stands in for Knative Serving when its controllers do not
// run: like the envtest suites of KServe's own Knative-mode controller, it
// writes only the Knative Service's status, the one thing KServe reads
// from Knative (latestCreatedRevisionName, latestReadyRevisionName,
// traffic, url, the Ready, ConfigurationsReady and RoutesReady
// conditions, observedGeneration). It follows Knative's rules: each change
// of spec.template creates revision {name}-0000N; a revision is ready at
// once unless its version is held (Hold), when it stays unready, as a
// revision whose pods never start; a traffic target with latestRevision
// routes to the latest ready revision; tags get their own URL. It creates
// no Revision, Route or Configuration object.
type KsvcStandIn struct {
	dyn dynamic.Interface

	mu        sync.Mutex
	revisions map[string][]standInRevision // namespace/name → revisions, oldest first
	uids      map[string]string            // namespace/name → the UID they are of
	held      map[string]bool              // modelgate.dev/version values
}

type standInRevision struct {
	name, hash, version string
	created             time.Time
}

// NewKsvcStandIn returns a stand-in; start it with Run.
func NewKsvcStandIn(dyn dynamic.Interface) *KsvcStandIn {
	return &KsvcStandIn{dyn: dyn, revisions: map[string][]standInRevision{}, uids: map[string]string{}, held: map[string]bool{}}
}

// Hold keeps every revision of version (its template's
// modelgate.dev/version label) unready from now on.
func (s *KsvcStandIn) Hold(version string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.held[version] = true
}

// Run writes Knative Services' status until ctx ends.
func (s *KsvcStandIn) Run(ctx context.Context) {
	everyPoll(ctx, standInPoll, func() {
		list, err := s.dyn.Resource(KnativeService).List(ctx, metav1.ListOptions{})
		if err != nil {
			return
		}
		for i := range list.Items {
			s.reconcile(ctx, &list.Items[i])
		}
	})
}

func (s *KsvcStandIn) reconcile(ctx context.Context, ksvc *unstructured.Unstructured) {
	want, err := s.status(ksvc)
	if err != nil {
		return
	}
	got, _, _ := unstructured.NestedMap(ksvc.Object, "status")
	if reflect.DeepEqual(normalize(got), normalize(want)) {
		return
	}
	ksvc.Object["status"] = want
	_, _ = s.dyn.Resource(KnativeService).Namespace(ksvc.GetNamespace()).UpdateStatus(ctx, ksvc, metav1.UpdateOptions{})
}

// status computes ksvc's status as Knative would report it.
func (s *KsvcStandIn) status(ksvc *unstructured.Unstructured) (map[string]any, error) {
	revs, err := s.revisionsOf(ksvc)
	if err != nil {
		return nil, err
	}
	latest := revs[len(revs)-1]
	ready := ""
	for i := len(revs) - 1; i >= 0 && ready == ""; i-- {
		if !s.isHeld(revs[i].version) {
			ready = revs[i].name
		}
	}
	ns, name := ksvc.GetNamespace(), ksvc.GetName()
	traffic, routed := resolveTraffic(ksvc, ready, ns)
	configured := latest.name == ready
	st := map[string]any{
		"observedGeneration":        ksvc.GetGeneration(),
		"latestCreatedRevisionName": latest.name,
		"url":                       fmt.Sprintf("http://%s.%s.example.com", name, ns),
		"address":                   map[string]any{"url": fmt.Sprintf("http://%s.%s.svc.cluster.local", name, ns)},
		"traffic":                   traffic,
		"conditions": []any{
			ksvcCondition("ConfigurationsReady", configured, "RevisionMissing", fmt.Sprintf("Configuration %q is waiting for a Revision to become ready.", name)),
			ksvcCondition("Ready", configured && routed, "RevisionMissing", fmt.Sprintf("Configuration %q is waiting for a Revision to become ready.", name)),
			ksvcCondition("RoutesReady", routed, "RevisionMissing", "Configuration does not have any ready Revision."),
		},
	}
	if ready != "" {
		st["latestReadyRevisionName"] = ready
	}
	return st, nil
}

// revisionsOf returns ksvc's revisions, adding one when its template
// changed since the last.
func (s *KsvcStandIn) revisionsOf(ksvc *unstructured.Unstructured) ([]standInRevision, error) {
	tmpl, _, _ := unstructured.NestedMap(ksvc.Object, "spec", "template")
	raw, err := json.Marshal(tmpl)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(raw)
	hash := hex.EncodeToString(sum[:])
	version, _, _ := unstructured.NestedString(tmpl, "metadata", "labels", "modelgate.dev/version")
	key := ksvc.GetNamespace() + "/" + ksvc.GetName()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.uids[key] != string(ksvc.GetUID()) { // re-created: Knative numbers its revisions afresh
		s.uids[key] = string(ksvc.GetUID())
		delete(s.revisions, key)
	}
	revs := s.revisions[key]
	if len(revs) == 0 || revs[len(revs)-1].hash != hash {
		name, _, _ := unstructured.NestedString(tmpl, "metadata", "name")
		if name == "" {
			name = fmt.Sprintf("%s-%05d", ksvc.GetName(), len(revs)+1)
		}
		revs = append(revs, standInRevision{name: name, hash: hash, version: version, created: time.Now()})
		s.revisions[key] = revs
	}
	return append([]standInRevision(nil), revs...), nil
}

// Revisions returns the revisions of Knative Service ns/name, oldest first.
func (s *KsvcStandIn) Revisions(ns, name string) []Revision {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Revision
	for _, r := range s.revisions[ns+"/"+name] {
		out = append(out, Revision{Name: r.name, Version: r.version, Created: r.created, Ready: !s.held[r.version]})
	}
	return out
}

func (s *KsvcStandIn) isHeld(version string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.held[version]
}

// resolveTraffic returns status.traffic for ksvc's spec.traffic (a
// latestRevision target goes to the latest ready revision) and whether
// every target has a ready revision.
func resolveTraffic(ksvc *unstructured.Unstructured, latestReady, ns string) ([]any, bool) {
	spec, _, _ := unstructured.NestedSlice(ksvc.Object, "spec", "traffic")
	if len(spec) == 0 {
		spec = []any{map[string]any{"latestRevision": true, "percent": int64(100)}}
	}
	var out []any
	routed := true
	for _, t := range spec {
		t, _ := t.(map[string]any)
		entry := map[string]any{}
		rev, _ := t["revisionName"].(string)
		if latest, _ := t["latestRevision"].(bool); latest {
			rev = latestReady
			entry["latestRevision"] = true
		} else {
			entry["latestRevision"] = false
		}
		if rev == "" {
			routed = false
			continue
		}
		entry["revisionName"] = rev
		if p, ok := t["percent"]; ok {
			entry["percent"] = p
		}
		if tag, _ := t["tag"].(string); tag != "" {
			entry["tag"] = tag
			entry["url"] = fmt.Sprintf("http://%s-%s.%s.example.com", tag, ksvc.GetName(), ns)
		}
		out = append(out, entry)
	}
	return out, routed
}

func ksvcCondition(typ string, ok bool, reason, message string) map[string]any {
	if ok {
		return map[string]any{"type": typ, "status": "True"}
	}
	return map[string]any{"type": typ, "status": "Unknown", "reason": reason, "message": message}
}

// normalize round-trips v through JSON so that numbers and slices compare
// alike whichever way they were built.
func normalize(v any) any {
	raw, _ := json.Marshal(v)
	var out any
	_ = json.Unmarshal(raw, &out)
	return out
}
