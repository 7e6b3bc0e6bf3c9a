package main

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/modelgate/modelgate/kserve"
	promsrc "github.com/modelgate/modelgate/prometheus"
)

const everyAdapterKey = `platform:
  type: kserve
  kubeconfig: /etc/kube/config
  context: prod
  staging_namespace: st
  production_namespace: pr
  name: forecast
  model_format: lightgbm
  model_format_version: "4"
  runtime: kserve-lgbserver
  protocol_version: v2
  storage_uri: [{from: "mlflow-artifacts:/", to: "s3://mlflow/artifacts/"}]
  service_account: kserve-sa
  labels: {team: forecasting}
  annotations: {example.com/owner: ml}
  min_replicas: 2
  poll_interval: 3s
  log_tail: 7
  resources: {requests: {cpu: 500m}, limits: {memory: 2Gi}}
  logger: {url: "http://sink/", mode: all, metadata_headers: [X-Request-Id], metadata_annotations: [example.com/v]}
  canary_timeout: 6m
  gitops_dir: gitops
  virtual_service: "{name}-predictor-ingress"
metrics:
  type: prometheus
  url: http://prometheus:9090
  family: knative
  names: {requests: r, latency: l, latency_unit: s, revision_label: rl, revision_value: rv, namespace_label: nl, code_label: cl, matchers: ['reporter="destination"']}
  lookback: 45m
`

// everyRawKey are the keys of platform.deployment_mode raw, which refuses
// some of everyAdapterKey's (gitops_dir, virtual_service, family knative).
const everyRawKey = `platform:
  type: kserve
  model_format: lightgbm
  deployment_mode: raw
  route: {kind: httproute, name: "{name}-canary-route", gateway: istio-ingress/public, hostnames: [models.example.com], url: "https://models.example.com"}
metrics: {type: prometheus, url: http://prometheus:9090}
`

// TestAdapterOptions: every platform (kserve) and metrics (prometheus) key
// reaches its field of kserve.Options and prometheus.Options, and every
// field of those has a key (a field added without one stays zero here).
func TestAdapterOptions(t *testing.T) {
	path := filepath.Join(t.TempDir(), "modelgate.yaml")
	if err := os.WriteFile(path, []byte(everyAdapterKey), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := loadConfig(path, true)
	if err != nil {
		t.Fatal(err)
	}
	two := int64(2)
	wantK := kserve.Options{
		Kubeconfig: "/etc/kube/config", Context: "prod", StagingNamespace: "st", ProductionNamespace: "pr", Name: "forecast",
		ModelFormat: "lightgbm", ModelFormatVersion: "4", Runtime: "kserve-lgbserver", ProtocolVersion: "v2",
		StorageURI:     []kserve.StorageRule{{From: "mlflow-artifacts:/", To: "s3://mlflow/artifacts/"}},
		Resources:      kserve.Resources{Requests: map[string]string{"cpu": "500m"}, Limits: map[string]string{"memory": "2Gi"}},
		ServiceAccount: "kserve-sa",
		Logger:         kserve.Logger{URL: "http://sink/", Mode: "all", MetadataHeaders: []string{"X-Request-Id"}, MetadataAnnotations: []string{"example.com/v"}},
		Labels:         map[string]string{"team": "forecasting"}, Annotations: map[string]string{"example.com/owner": "ml"},
		MinReplicas: &two, CanaryTimeout: 6 * time.Minute, PollInterval: 3 * time.Second,
		GitOpsDir: "gitops", VirtualService: "{name}-predictor-ingress", LogTail: 7,
	}
	gotK := kserveOptions(cfg.Platform.KServe)
	if diff := cmp.Diff(wantK, gotK); diff != "" {
		t.Errorf("kserve options (-want +got):\n%s", diff)
	}
	wantP := promsrc.Options{URL: "http://prometheus:9090", Family: "knative", Lookback: 45 * time.Minute, Names: promsrc.Metrics{
		Requests: "r", Latency: "l", LatencyUnit: "s", RevisionLabel: "rl", RevisionValue: "rv", NamespaceLabel: "nl", CodeLabel: "cl",
		Matchers: []string{`reporter="destination"`},
	}}
	gotP := prometheusOptions(cfg.Metrics.Prometheus)
	if diff := cmp.Diff(wantP, gotP); diff != "" {
		t.Errorf("prometheus options (-want +got):\n%s", diff)
	}
	rawPath := filepath.Join(t.TempDir(), "raw.yaml")
	if err := os.WriteFile(rawPath, []byte(everyRawKey), 0o644); err != nil {
		t.Fatal(err)
	}
	rawCfg, err := loadConfig(rawPath, true)
	if err != nil {
		t.Fatal(err)
	}
	raw := kserveOptions(rawCfg.Platform.KServe)
	wantRoute := kserve.Route{Kind: "httproute", Name: "{name}-canary-route", Gateway: "istio-ingress/public", Hostnames: []string{"models.example.com"}, URL: "https://models.example.com"}
	if diff := cmp.Diff(wantRoute, raw.Route); diff != "" || raw.DeploymentMode != "raw" {
		t.Errorf("raw mode's options: deployment mode %q, route (-want +got):\n%s", raw.DeploymentMode, diff)
	}
	gotK.DeploymentMode, gotK.Route = raw.DeploymentMode, raw.Route
	assertAllSet(t, "kserve.Options", reflect.ValueOf(gotK))
	assertAllSet(t, "prometheus.Options", reflect.ValueOf(gotP))
}

// assertAllSet fails t for each zero field of the struct v, recursively.
func assertAllSet(t *testing.T, path string, v reflect.Value) {
	t.Helper()
	if v.Kind() != reflect.Struct {
		if v.IsZero() {
			t.Errorf("%s is not set by any configuration key", path)
		}
		return
	}
	for i := range v.NumField() {
		assertAllSet(t, path+"."+v.Type().Field(i).Name, v.Field(i))
	}
}
