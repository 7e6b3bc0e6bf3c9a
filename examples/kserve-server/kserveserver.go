// Package kserveserver runs server.py, the example KServe Python model
// server, for tests: it finds the virtualenv scripts/kserve-env installs and
// builds the command that serves an MLflow LightGBM model directory over
// KServe's V1 and V2 protocols.
package kserveserver

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// Script is the absolute path of server.py.
func Script() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "server.py")
}

// Venv returns the virtualenv of scripts/kserve-env:
// $MODELGATE_KSERVE_VENV, default <repo>/.cache/kserve-venv.
func Venv() string {
	if v := os.Getenv("MODELGATE_KSERVE_VENV"); v != "" {
		return v
	}
	return filepath.Join(filepath.Dir(Script()), "..", "..", ".cache", "kserve-venv")
}

// Python returns the venv's interpreter. Without the venv the test is
// skipped, or fails when MODELGATE_REQUIRE_INTEGRATION=1, naming the script
// that installs it.
func Python(tb testing.TB) string {
	tb.Helper()
	py := filepath.Join(Venv(), "bin", "python")
	if _, err := os.Stat(py); err != nil {
		msg := "the KServe virtualenv " + Venv() + " is missing; install it with scripts/kserve-env"
		if os.Getenv("MODELGATE_REQUIRE_INTEGRATION") == "1" {
			tb.Fatal(msg)
		}
		tb.Skip(msg)
	}
	return py
}

// Command is the argv serving modelDir as model name on the port "{port}"
// (the placeholders gateway.UpstreamSpec replaces), with gRPC off.
func Command(python, modelDir, name string) []string {
	return []string{python, Script(), "--model_dir", modelDir, "--model_name", name,
		"--http_port", "{port}", "--enable_grpc", "false", "--configure_logging", "false"}
}
