package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelgate/modelgate/kserve"
)

// rawPlatform is a kserve platform block in raw mode, with a metrics block.
const rawPlatform = `platform:
  type: kserve
  model_format: sklearn
  deployment_mode: raw
  route: {gateway: gateway-system/public, hostnames: [models.example.com], url: https://models.example.com}
metrics: {type: prometheus, url: http://prometheus:9090%s}
`

// platform.deployment_mode and platform.route: a raw-mode block loads into
// kserve.Options, with metrics.family istio-raw by default.
func TestConfigRawMode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "modelgate.yaml")
	if err := os.WriteFile(path, []byte(strings.Replace(rawPlatform, "%s", "", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := loadConfig(path, true)
	if err != nil {
		t.Fatal(err)
	}
	o := kserveOptions(c.Platform.KServe)
	if o.DeploymentMode != kserve.ModeRaw || o.Route.Gateway != "gateway-system/public" || o.Route.URL != "https://models.example.com" ||
		len(o.Route.Hostnames) != 1 || o.Route.Hostnames[0] != "models.example.com" {
		t.Errorf("kserve.Options = %+v", o)
	}
	if f := c.Metrics.Prometheus.Family; f != "istio-raw" {
		t.Errorf("metrics.family = %q, want istio-raw in raw mode", f)
	}
	rules, err := c.ruleFile("demand-forecast", "2", "")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := rules.YAML()
	if want := `destination_workload=~"demand-forecast-predictor", destination_workload_namespace="mlops"`; !strings.Contains(string(b), want) {
		t.Errorf("raw mode's alert rules lack %q:\n%s", want, b)
	}
}

// Each raw-mode mistake is a configuration error (exit 2) naming the key.
func TestConfigRawModeErrors(t *testing.T) {
	dir := t.TempDir()
	good := strings.Replace(rawPlatform, "%s", "", 1)
	tests := []struct{ name, config, want string }{
		{"KnativeFamily", strings.Replace(rawPlatform, "%s", ", family: knative-otel", 1),
			"metrics.family: knative-otel reads Knative's per-revision series, which platform.deployment_mode raw does not have"},
		{"Mode", strings.Replace(good, "deployment_mode: raw", "deployment_mode: standard", 1),
			`platform.deployment_mode: "standard" is not one of serverless, raw`},
		{"NoGateway", strings.Replace(good, "gateway: gateway-system/public, ", "", 1),
			"platform.route.gateway: expected the Gateway as namespace/name"},
		{"RouteWithoutRaw", strings.Replace(good, "deployment_mode: raw", "deployment_mode: serverless", 1),
			"platform.route: only used with platform.deployment_mode raw"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, tt.name+".yaml")
			if err := os.WriteFile(path, []byte(tt.config), 0o644); err != nil {
				t.Fatal(err)
			}
			code, _, stderr := runCLI(t, "--config", path, "grafana")
			if code != 2 || !strings.Contains(stderr, tt.want) {
				t.Fatalf("exit %d, stderr %q; want 2 containing %q", code, stderr, tt.want)
			}
		})
	}
}
