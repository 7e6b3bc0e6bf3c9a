package kserve

import (
	"fmt"
	"strings"
	"time"
)

// Options configures a Deployer. Zero fields take the defaults of
// DefaultOptions. cmd/modelgate fills it from modelgate.yaml's platform
// block, one key per field.
type Options struct {
	// Kubeconfig is the kubeconfig file; "" loads as kubectl does ($KUBECONFIG,
	// then ~/.kube/config, then the in-cluster service account).
	Kubeconfig string
	// Context is the kubeconfig context; "" means the current context.
	Context string
	// StagingNamespace and ProductionNamespace hold the InferenceServices.
	// Defaults mlops-staging and mlops (the playbook's).
	StagingNamespace    string
	ProductionNamespace string
	// Name is the InferenceService name; "" derives it from the model name
	// (lowercased, other characters than [a-z0-9-] replaced by "-").
	Name string
	// ModelFormat is spec.predictor.model.modelFormat.name (required, e.g.
	// "sklearn", "lightgbm", "mlflow"); ModelFormatVersion its optional version.
	ModelFormat        string
	ModelFormatVersion string
	// Runtime names the (Cluster)ServingRuntime; "" lets KServe choose.
	Runtime string
	// ProtocolVersion is v1, v2, grpc-v1 or grpc-v2; "" lets the runtime choose.
	ProtocolVersion string
	// StorageURI maps the registry's artifact location to the storageUri
	// KServe downloads from: the first rule whose From prefixes the source
	// replaces that prefix with To. A source no rule matches is used as is
	// when it has a scheme KServe knows (s3, gs, pvc, https, …), else it is
	// an error.
	StorageURI []StorageRule
	// Resources are the predictor container's requests and limits, e.g.
	// {requests: {cpu: 500m, memory: 1Gi}, limits: {memory: 2Gi}}.
	Resources Resources
	// ServiceAccount is spec.predictor.serviceAccountName (it must exist in
	// both namespaces); "" means the namespace's default.
	ServiceAccount string
	// Logger, when URL is set, turns on KServe's payload logger.
	Logger Logger
	// Labels and Annotations are added to the InferenceService and its pods,
	// next to modelgate's own (model name and version).
	Labels      map[string]string
	Annotations map[string]string
	// MinReplicas is spec.predictor.minReplicas; nil leaves KServe's default.
	MinReplicas *int64
	// CanaryTimeout bounds StartCanary, Promote and Rollback's waits for the
	// split to take effect. Default 5m.
	CanaryTimeout time.Duration
	// PollInterval is how often status is read while waiting. Default 2s.
	PollInterval time.Duration
	// GitOpsDir, when set, switches to GitOps mode: manifests are written
	// under GitOpsDir/serving/ instead of being applied, and the Deployer waits
	// for the cluster to reach them.
	GitOpsDir string
	// VirtualService, when set, is the Istio VirtualService whose route
	// weights are checked against the split as well; "{name}" is replaced by
	// the InferenceService name (Knative's is "{name}-predictor-ingress").
	VirtualService string
	// LogTail is how many last lines of each predictor pod are kept as
	// evidence. Default 20.
	LogTail int
}

// StorageRule rewrites a source prefix into a storageUri prefix, e.g.
// {from: "mlflow-artifacts:/", to: "s3://mlflow/artifacts/"}.
type StorageRule struct {
	From string
	To   string
}

// Resources are Kubernetes quantities by resource name.
type Resources struct {
	Requests map[string]string
	Limits   map[string]string
}

// Logger is spec.predictor.logger.
type Logger struct {
	URL  string
	Mode string // all (default), request or response
	// MetadataHeaders are request headers copied into the logged events.
	MetadataHeaders []string
	// MetadataAnnotations are pod annotations forwarded in Ce-Annotations,
	// besides modelgate.dev/version, which is always forwarded.
	MetadataAnnotations []string
}

// DefaultOptions returns the playbook's defaults.
func DefaultOptions() Options {
	return Options{
		StagingNamespace:    "mlops-staging",
		ProductionNamespace: "mlops",
		CanaryTimeout:       5 * time.Minute,
		PollInterval:        2 * time.Second,
		LogTail:             20,
	}
}

func (o Options) withDefaults() Options {
	d := DefaultOptions()
	if o.StagingNamespace == "" {
		o.StagingNamespace = d.StagingNamespace
	}
	if o.ProductionNamespace == "" {
		o.ProductionNamespace = d.ProductionNamespace
	}
	if o.CanaryTimeout <= 0 {
		o.CanaryTimeout = d.CanaryTimeout
	}
	if o.PollInterval <= 0 {
		o.PollInterval = d.PollInterval
	}
	if o.LogTail <= 0 {
		o.LogTail = d.LogTail
	}
	return o
}

// Validate reports the first option that cannot work, naming it by its key
// in modelgate.yaml (platform.*), which is what a user edits.
func (o Options) Validate() error {
	if o.ModelFormat == "" {
		return fmt.Errorf("platform.model_format: required for kserve (e.g. sklearn, lightgbm, mlflow)")
	}
	switch o.ProtocolVersion {
	case "", "v1", "v2", "grpc-v1", "grpc-v2":
	default:
		return fmt.Errorf("platform.protocol_version: %q is not one of v1, v2, grpc-v1, grpc-v2", o.ProtocolVersion)
	}
	switch o.Logger.Mode {
	case "", "all", "request", "response":
	default:
		return fmt.Errorf("platform.logger.mode: %q is not one of all, request, response", o.Logger.Mode)
	}
	if o.Logger.Mode != "" && o.Logger.URL == "" {
		return fmt.Errorf("platform.logger.url: required when platform.logger.mode is set")
	}
	for i, r := range o.StorageURI {
		if r.From == "" || r.To == "" {
			return fmt.Errorf("platform.storage_uri[%d]: both from and to are required", i)
		}
	}
	if o.StagingNamespace != "" && o.StagingNamespace == o.ProductionNamespace {
		return fmt.Errorf("platform.staging_namespace: must differ from platform.production_namespace (%s)", o.ProductionNamespace)
	}
	return nil
}

// ServiceName returns the InferenceService name for model: Name when set,
// else model as a DNS label.
func (o Options) ServiceName(model string) string {
	if o.Name != "" {
		return o.Name
	}
	return dnsLabel(model)
}

func dnsLabel(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		} else {
			b.WriteByte('-')
		}
	}
	out := strings.Trim(b.String(), "-")
	if len(out) > 45 { // leaves room for "-predictor-00001" and the "latest-"/"prev-" tags
		out = strings.TrimRight(out[:45], "-")
	}
	return out
}
