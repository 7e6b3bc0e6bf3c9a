package kserve

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/modelgate/modelgate"
)

// The InferenceService resource and the keys modelgate writes on it.
var isvcGVR = schema.GroupVersionResource{Group: "serving.kserve.io", Version: "v1beta1", Resource: "inferenceservices"}

const (
	FieldManager = "modelgate"

	LabelModel   = "modelgate.dev/model"   // model name as a label value
	LabelVersion = "modelgate.dev/version" // version as a label value
	// AnnotationModel and AnnotationVersion carry the exact registry names.
	AnnotationModel   = "modelgate.dev/model"
	AnnotationVersion = "modelgate.dev/version"
	// AnnotationDeployment is the JSON of the deployment the spec was
	// rendered from, so Promote can re-render it.
	AnnotationDeployment = "modelgate.dev/deployment"

	annotationDeploymentMode = "serving.kserve.io/deploymentMode"
	labelISVC                = "serving.kserve.io/inferenceservice"
	labelRevision            = "serving.knative.dev/revision"
)

// knownSchemes are storageUri schemes KServe's storage initializer accepts.
var knownSchemes = []string{"s3://", "gs://", "pvc://", "hdfs://", "webhdfs://", "hf://", "oci://", "https://", "http://"}

// MapStorageURI maps the registry's artifact location to a storageUri through
// the configured rules (first matching prefix wins). EINVALID when nothing
// maps it to a scheme KServe can download.
func (o Options) MapStorageURI(source string) (string, error) {
	for _, r := range o.StorageURI {
		if strings.HasPrefix(source, r.From) {
			return r.To + strings.TrimPrefix(source, r.From), nil
		}
	}
	for _, s := range knownSchemes {
		if strings.HasPrefix(source, s) {
			return source, nil
		}
	}
	return "", modelgate.Errorf(modelgate.EINVALID, "artifact location %q has no storageUri: no platform.storage_uri rule matches it and KServe cannot download it as is", source).
		WithHint("add a rule such as {from: %q, to: \"s3://bucket/prefix/\"}", prefixOf(source))
}

func prefixOf(s string) string {
	if i := strings.Index(s, ":"); i >= 0 {
		end := i + 1
		for end < len(s) && s[end] == '/' {
			end++
		}
		return s[:end]
	}
	return s
}

// Render returns the InferenceService serving d in namespace. canary, when
// non-nil, is spec.predictor.canaryTrafficPercent. The same object is
// applied in apply mode and written in GitOps mode. Every annotation and
// label on it depends on d alone: KServe copies them into the revision
// template, so one that changed from step to step would create a revision.
func (o Options) Render(d modelgate.Deployment, namespace string, canary *int64) (*unstructured.Unstructured, error) {
	uri, err := o.MapStorageURI(d.Source)
	if err != nil {
		return nil, err
	}
	labels := map[string]any{
		"app.kubernetes.io/managed-by": "modelgate",
		LabelModel:                     labelValue(d.Model),
		LabelVersion:                   labelValue(d.Version),
	}
	for k, v := range o.Labels {
		labels[k] = v
	}
	depJSON, _ := json.Marshal(modelgate.Deployment{Model: d.Model, Version: d.Version, Source: d.Source, Digest: d.Digest})
	annotations := map[string]any{
		AnnotationModel:          d.Model,
		AnnotationVersion:        d.Version,
		AnnotationDeployment:     string(depJSON),
		annotationDeploymentMode: o.kserveMode(),
	}
	if d.Digest != "" {
		annotations["modelgate.dev/model-sha256"] = d.Digest
	}
	for k, v := range o.Annotations {
		annotations[k] = v
	}
	podLabels := map[string]any{LabelModel: labels[LabelModel], LabelVersion: labels[LabelVersion]}
	podAnnotations := map[string]any{AnnotationModel: d.Model, AnnotationVersion: d.Version}
	for k, v := range o.Labels {
		podLabels[k] = v
	}
	for k, v := range o.Annotations {
		podAnnotations[k] = v
	}
	predictor := map[string]any{
		"labels":      podLabels,
		"annotations": podAnnotations,
		"model":       o.renderModel(uri),
	}
	if canary != nil {
		predictor["canaryTrafficPercent"] = *canary
	}
	if o.ServiceAccount != "" {
		predictor["serviceAccountName"] = o.ServiceAccount
	}
	if o.MinReplicas != nil {
		predictor["minReplicas"] = *o.MinReplicas
	}
	if o.Logger.URL != "" {
		lg := map[string]any{"url": o.Logger.URL, "mode": "all"}
		if o.Logger.Mode != "" {
			lg["mode"] = o.Logger.Mode
		}
		// The version annotation is always forwarded (Ce-Annotations): it is
		// how the payload receiver tells canary from production events.
		lg["metadataAnnotations"] = toAnySlice(append([]string{AnnotationVersion}, o.Logger.MetadataAnnotations...))
		if len(o.Logger.MetadataHeaders) > 0 {
			lg["metadataHeaders"] = toAnySlice(o.Logger.MetadataHeaders)
		}
		predictor["logger"] = lg
	}
	obj := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": isvcGVR.GroupVersion().String(),
		"kind":       "InferenceService",
		"metadata": map[string]any{
			"name":        o.ServiceName(d.Model),
			"namespace":   namespace,
			"labels":      labels,
			"annotations": annotations,
		},
		"spec": map[string]any{"predictor": predictor},
	}}
	return obj, nil
}

// kserveMode is the serving.kserve.io/deploymentMode annotation's value.
// Serverless mode writes Knative, since canaryTrafficPercent works only
// there; raw mode writes the legacy name RawDeployment, which KServe v0.15
// knows and v0.16+ normalises to Standard.
func (o Options) kserveMode() string {
	if o.Raw() {
		return "RawDeployment"
	}
	return "Knative"
}

func (o Options) renderModel(uri string) map[string]any {
	format := map[string]any{"name": o.ModelFormat}
	if o.ModelFormatVersion != "" {
		format["version"] = o.ModelFormatVersion
	}
	m := map[string]any{"modelFormat": format, "storageUri": uri}
	if o.Runtime != "" {
		m["runtime"] = o.Runtime
	}
	if o.ProtocolVersion != "" {
		m["protocolVersion"] = o.ProtocolVersion
	}
	res := map[string]any{}
	if len(o.Resources.Requests) > 0 {
		res["requests"] = toAnyMap(o.Resources.Requests)
	}
	if len(o.Resources.Limits) > 0 {
		res["limits"] = toAnyMap(o.Resources.Limits)
	}
	if len(res) > 0 {
		m["resources"] = res
	}
	return m
}

func toAnyMap(m map[string]string) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func toAnySlice(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

// labelValue makes s a valid label value (≤63 of [A-Za-z0-9._-], alphanumeric
// at both ends).
func labelValue(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			b[i] = '-'
		}
	}
	out := string(b)
	if len(out) > 63 {
		out = out[:63]
	}
	return strings.Trim(out, "-._")
}

// deploymentOf returns the deployment an applied object was rendered from.
func deploymentOf(obj *unstructured.Unstructured) (modelgate.Deployment, error) {
	var d modelgate.Deployment
	raw := obj.GetAnnotations()[AnnotationDeployment]
	if raw == "" {
		return d, modelgate.Errorf(modelgate.EPRECONDITION, "InferenceService %s/%s was not deployed by modelgate (no %s annotation)", obj.GetNamespace(), obj.GetName(), AnnotationDeployment)
	}
	if err := json.Unmarshal([]byte(raw), &d); err != nil {
		return d, fmt.Errorf("read annotation %s of %s/%s: %w", AnnotationDeployment, obj.GetNamespace(), obj.GetName(), err)
	}
	return d, nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
