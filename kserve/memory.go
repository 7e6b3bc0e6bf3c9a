package kserve

import (
	"context"
	"encoding/json"
	"path/filepath"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/modelgate/modelgate"
)

var configMapsGVR = schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}

// ManifestMemory is, in GitOps mode, the manifest of production's memory
// ConfigMap, relative to Options.GitOpsDir.
const ManifestMemory = "serving/modelgate-memory.yaml"

// memory is what modelgate remembers of production's InferenceService
// between calls: which version each Knative revision serves, and when the
// current split was applied. It lives in the ConfigMap <name>-modelgate
// beside the InferenceService, not in the InferenceService's annotations:
// KServe copies those into the predictor's revision template
// (components/predictor.go, buildObjectMeta), so changing one there would
// create a new Knative revision, or restart a RawDeployment's pods, at
// every step of a promotion.
type memory struct {
	Revisions map[string]string // Knative revision → version
	Split     splitRecord
	// UID is the InferenceService's the memory is of ("" before it
	// existed): a memory of another InferenceService of the same name
	// (deleted and re-created, whose revision names start again at
	// -00001) is ignored.
	UID string
}

// splitRecord is when the split of Version at Canary percent (nil: no
// canary) was first applied.
type splitRecord struct {
	Version string    `json:"version"`
	Canary  *int64    `json:"canary_percent,omitempty"`
	Since   time.Time `json:"since"`
}

func memoryName(isvc string) string { return isvc + "-modelgate" }

// readMemory returns production's memory of InferenceService ns/name, or
// what an older modelgate kept in obj's annotations when there is no
// ConfigMap yet.
func (d *Deployer) readMemory(ctx context.Context, ns, name string, obj *unstructured.Unstructured) (memory, error) {
	cm, err := d.dyn.Resource(configMapsGVR).Namespace(ns).Get(ctx, memoryName(name), metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return legacyMemory(obj), nil
	}
	if err != nil {
		return memory{}, d.apiError(err, "read ConfigMap %s/%s", ns, memoryName(name))
	}
	data, _, _ := unstructured.NestedStringMap(cm.Object, "data")
	m := memory{Revisions: map[string]string{}}
	m.UID = data["uid"]
	if m.UID != "" && m.UID != string(obj.GetUID()) {
		return memory{Revisions: map[string]string{}}, nil // of an InferenceService since deleted
	}
	for key, into := range map[string]any{"revisions": &m.Revisions, "split": &m.Split} {
		if raw := data[key]; raw != "" {
			if err := json.Unmarshal([]byte(raw), into); err != nil {
				return memory{}, modelgate.Errorf(modelgate.EINTERNAL, "ConfigMap %s/%s: %s is not what modelgate wrote: %v", ns, memoryName(name), key, err).
					WithHint("delete the ConfigMap (modelgate writes it again; until then revisions it had named are reported by name) or restore its data")
			}
		}
	}
	return m, nil
}

// legacyMemory reads the annotations modelgate kept on the InferenceService
// before the memory ConfigMap.
func legacyMemory(obj *unstructured.Unstructured) memory {
	m := memory{Revisions: map[string]string{}}
	a := obj.GetAnnotations()
	_ = json.Unmarshal([]byte(a[legacyAnnotationRevisions]), &m.Revisions)
	if t, err := time.Parse(time.RFC3339, a[legacyAnnotationSplitSince]); err == nil {
		m.Split = splitRecord{Version: a[AnnotationVersion], Since: t}
		if p, ok, _ := unstructured.NestedInt64(obj.Object, "spec", "predictor", "canaryTrafficPercent"); ok {
			m.Split.Canary = &p
		}
	}
	return m
}

// The annotations an older modelgate kept its memory in.
const (
	legacyAnnotationRevisions  = "modelgate.dev/revisions"
	legacyAnnotationSplitSince = "modelgate.dev/split-since"
)

// writeMemory server-side applies production's memory (or writes its
// manifest in GitOps mode).
func (d *Deployer) writeMemory(ctx context.Context, ns, name string, m memory) error {
	revs, err := json.Marshal(m.Revisions) // sorted keys: stable output
	if err != nil {
		return err
	}
	split, err := json.Marshal(m.Split)
	if err != nil {
		return err
	}
	cm := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]any{"name": memoryName(name), "namespace": ns,
			"labels": map[string]any{"app.kubernetes.io/managed-by": "modelgate", LabelModel: labelValue(name)}},
		"data": map[string]any{"revisions": string(revs), "split": string(split), "uid": m.UID},
	}}
	if d.opts.GitOpsDir != "" {
		b, err := Marshal(cm)
		if err != nil {
			return err
		}
		return writeFile(filepath.Join(d.opts.GitOpsDir, ManifestMemory), b)
	}
	_, err = d.applyResource(ctx, configMapsGVR, cm, false)
	return err
}

// nextSplit is the split record for version at canary: cur's when it
// records the same split and the cluster already has it (applied says so),
// else one beginning now. A record written just before a crash, for a
// split never applied, thus does not date a later window.
func nextSplit(cur memory, applied bool, version string, canary *int64, now time.Time) splitRecord {
	s := cur.Split
	if applied && s.Version == version && samePercent(s.Canary, canary) && !s.Since.IsZero() {
		return s
	}
	return splitRecord{Version: version, Canary: canary, Since: now.UTC().Truncate(time.Second)}
}

func samePercent(a, b *int64) bool {
	return (a == nil && b == nil) || (a != nil && b != nil && *a == *b)
}
