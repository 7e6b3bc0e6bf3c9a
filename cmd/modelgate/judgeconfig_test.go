package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A judge key the chosen judge ignores is refused, naming the keys and both
// ways out; the keys that act with either judge are accepted.
func TestConfigJudgeKeysOfTheOtherJudge(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       string // "" when the config loads
	}{
		{"ThresholdsWithSequentialKeys", "judge: {type: thresholds, alpha: 0.01, feature_margin: 0.05}\n",
			"judge.alpha, judge.feature_margin: judge.type is thresholds, which ignores these keys"},
		{"ThresholdsWithItsOwnKeys", "judge: {type: thresholds, prediction_tolerance: 0.1}\nthresholds: {relative_tolerance: 0.1}\n", ""},
		{"ThresholdsWithTheBakesDriftLevels", "judge: {type: thresholds, wasserstein_alert: 0.2, linf_alert: 0.2}\n", ""},
		{"SequentialWithEveryKey", "judge: {type: sequential, alpha: 0.01, feature_margin: 0.05}\n", ""},
		{"DefaultJudgeWithAlpha", "judge: {alpha: 0.01}\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadConfigText(t, tt.yaml)
			checkConfigError(t, err, tt.want)
			if tt.want != "" && !strings.Contains(err.Error(), "set judge.type: sequential") {
				t.Fatalf("error %q does not say how to fix it", err)
			}
		})
	}
}

// loadConfigText loads a config file holding text.
func loadConfigText(t *testing.T, text string) (*Config, error) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "modelgate.yaml")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return loadConfig(path, true)
}

// checkConfigError wants err nil when want is "", else an error holding want.
func checkConfigError(t *testing.T, err error, want string) {
	t.Helper()
	switch {
	case want == "" && err != nil:
		t.Fatalf("refused: %v", err)
	case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
		t.Fatalf("error %v, want one containing %q", err, want)
	}
}
