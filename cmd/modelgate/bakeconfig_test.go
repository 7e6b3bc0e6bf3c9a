package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The bake and incidents blocks: each mistake is a configuration error
// (exit 2) naming the key and what is expected, before anything runs.
func TestConfigBakeAndIncidentsErrors(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("MODELGATE_TEST_NO_TOKEN", "")
	tests := []struct{ name, config, want string }{
		{"UnknownAlert", "bake: {actions: {ErrorRateHigh: rollback}}\n",
			`bake.actions: "ErrorRateHigh" is not an alert; expected one of ModelErrorRateHigh, ModelLatencyP95High, ModelDriftHigh`},
		{"UnknownAction", "bake: {actions: {ModelDriftHigh: page}}\n",
			`bake.actions.ModelDriftHigh: expected rollback or notify, got "page"`},
		{"OnNewPromotion", "bake: {on_new_promotion: queue}\n",
			`bake.on_new_promotion: expected end or wait, got "queue"`},
		{"NegativeDuration", "bake: {duration: -1h}\n",
			"bake.duration: expected a duration ≥ 0 like 24h"},
		{"TwoTrackers", "incidents: {github: {repo: a/b}, jira: {url: https://x.atlassian.net, project: OPS}}\n",
			"incidents: set github or jira, not both"},
		{"NoDueDate", "incidents: {post_mortem_due: 0s}\n",
			"incidents.post_mortem_due: expected a positive duration like 24h"},
		{"GitHubRepo", "incidents: {github: {repo: forecast, token_env: MODELGATE_TEST_NO_TOKEN}}\n",
			`incidents.github.repo: want owner/name, got "forecast"`},
		{"GitHubToken", "incidents: {github: {repo: acme/forecast, token_env: MODELGATE_TEST_NO_TOKEN}}\n",
			"incidents.github: no token: set $MODELGATE_TEST_NO_TOKEN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, tt.name+".yaml")
			if err := os.WriteFile(path, []byte(tt.config), 0o644); err != nil {
				t.Fatal(err)
			}
			code, _, stderr := runCLI(t, "--config", path, "bake", "demand-forecast")
			if code != 2 || !strings.Contains(stderr, tt.want) {
				t.Fatalf("exit %d, stderr %q; want 2 containing %q", code, stderr, tt.want)
			}
		})
	}
}
