package kserve

import (
	"maps"
	"slices"

	"fmt"
	"k8s.io/apimachinery/pkg/api/resource"
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
	// DeploymentMode is serverless (the default: KServe's Knative mode,
	// where KServe splits the traffic by canaryTrafficPercent) or raw
	// (KServe's RawDeployment mode, where KServe ignores
	// canaryTrafficPercent, so modelgate serves the candidate as a second
	// InferenceService "<name>-canary" and splits the traffic with Route).
	DeploymentMode string
	// Route is the route modelgate owns in raw mode; unused otherwise.
	Route Route
}

// The deployment modes (Options.DeploymentMode).
const (
	ModeServerless = "serverless"
	ModeRaw        = "raw"
)

// Route is the weighted route in front of the stable and the candidate
// InferenceServices in raw mode: a Gateway API HTTPRoute or an Istio
// VirtualService in production's namespace, applied under the field
// manager "modelgate", whose backends are the predictor Services KServe
// creates ("<isvc>-predictor", port 80).
type Route struct {
	// Kind is httproute (the default: a Gateway API HTTPRoute,
	// gateway.networking.k8s.io/v1) or virtualservice (an Istio
	// VirtualService, networking.istio.io/v1beta1, bound to Gateway).
	Kind string
	// Name is the route's name; "{name}" is replaced by the
	// InferenceService name. Default "{name}-modelgate": KServe's own
	// HTTPRoutes, when its ingress uses the Gateway API, are "{name}" and
	// "{name}-predictor", and two owners of one route would fight.
	Name string
	// Gateway is the parent Gateway as namespace/name (required): a Gateway
	// API Gateway for httproute, an Istio Gateway for virtualservice.
	Gateway string
	// Hostnames are the route's hostnames: an HTTPRoute's spec.hostnames
	// (none means every hostname the Gateway's listeners accept), a
	// VirtualService's spec.hosts (required).
	Hostnames []string
	// URL is the production URL users call (through the Gateway);
	// "" reports the stable InferenceService's status.url, which is KServe's
	// own ingress and does not go through the split.
	URL string
}

// Route kinds (Route.Kind).
const (
	RouteHTTPRoute      = "httproute"
	RouteVirtualService = "virtualservice"
)

// StorageRule rewrites a source prefix into a storageUri prefix, e.g.
// {from: "mlflow-artifacts:/", to: "s3://mlflow/artifacts/"}.
type StorageRule struct {
	From string
	To   string
}

// validate checks every quantity here, before the cluster does: KServe's
// defaulting webhook refuses a bad one without naming the field.
func (r Resources) validate() error {
	for kind, m := range map[string]map[string]string{"requests": r.Requests, "limits": r.Limits} {
		for _, name := range slices.Sorted(maps.Keys(m)) {
			if _, err := resource.ParseQuantity(m[name]); err != nil {
				return fmt.Errorf("platform.resources.%s.%s: %q is not a Kubernetes quantity (e.g. 500m, 2, 1Gi)", kind, name, m[name])
			}
		}
	}
	return nil
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
	if o.DeploymentMode == "" {
		o.DeploymentMode = ModeServerless
	}
	if o.DeploymentMode == ModeRaw {
		if o.Route.Kind == "" {
			o.Route.Kind = RouteHTTPRoute
		}
		if o.Route.Name == "" {
			o.Route.Name = "{name}-modelgate"
		}
	}
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
	if err := o.Resources.validate(); err != nil {
		return err
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
	return o.validateMode()
}

// validateMode checks platform.deployment_mode and, in raw mode,
// platform.route.
func (o Options) validateMode() error {
	switch o.DeploymentMode {
	case "", ModeServerless:
		if !o.Route.empty() {
			return fmt.Errorf("platform.route: only used with platform.deployment_mode raw (modelgate's own route in front of RawDeployment InferenceServices)")
		}
		return nil
	case ModeRaw:
	default:
		return fmt.Errorf("platform.deployment_mode: %q is not one of serverless, raw", o.DeploymentMode)
	}
	if o.VirtualService != "" {
		return fmt.Errorf("platform.virtual_service: checks Knative's VirtualService, which serverless mode has; in raw mode modelgate owns platform.route")
	}
	if o.GitOpsDir != "" {
		return fmt.Errorf("platform.gitops_dir: not supported with platform.deployment_mode raw (the canary InferenceService and the route are applied, not written)")
	}
	return o.Route.validate()
}

func (r Route) empty() bool {
	return r.Kind == "" && r.Name == "" && r.Gateway == "" && len(r.Hostnames) == 0 && r.URL == ""
}

func (r Route) validate() error {
	switch r.Kind {
	case "", RouteHTTPRoute:
	case RouteVirtualService:
		if len(r.Hostnames) == 0 {
			return fmt.Errorf("platform.route.hostnames: required for kind virtualservice (its spec.hosts)")
		}
	default:
		return fmt.Errorf("platform.route.kind: %q is not one of httproute, virtualservice", r.Kind)
	}
	if r.Name != "" && !isDNSLabel(strings.ReplaceAll(r.Name, "{name}", "x")) {
		return fmt.Errorf("platform.route.name: %q is not a DNS label once {name} is replaced (lowercase letters, digits and -)", r.Name)
	}
	ns, name, ok := strings.Cut(r.Gateway, "/")
	if !ok || !isDNSLabel(ns) || !isDNSLabel(name) {
		return fmt.Errorf("platform.route.gateway: expected the Gateway as namespace/name (e.g. istio-ingress/public), got %q", r.Gateway)
	}
	for i, h := range r.Hostnames {
		if h == "" || strings.ContainsAny(h, ":/ ") {
			return fmt.Errorf("platform.route.hostnames[%d]: %q is not a hostname", i, h)
		}
	}
	if r.URL != "" && !strings.HasPrefix(r.URL, "http://") && !strings.HasPrefix(r.URL, "https://") {
		return fmt.Errorf("platform.route.url: expected an http:// or https:// URL, got %q", r.URL)
	}
	return nil
}

// isDNSLabel reports whether s is an RFC 1123 label, as Kubernetes names
// of namespaces and Services must be.
func isDNSLabel(s string) bool {
	if s == "" || len(s) > 63 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}

// Raw reports whether o is raw mode (KServe's RawDeployment, modelgate's
// own route).
func (o Options) Raw() bool { return o.DeploymentMode == ModeRaw }

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
