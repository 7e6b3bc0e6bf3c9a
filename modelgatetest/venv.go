package modelgatetest

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// MLflowVenv returns the absolute path of the virtualenv scripts/mlflow-env
// installs, for tests in a package directory one level below the
// repository: $MODELGATE_MLFLOW_VENV, else <repo>/.cache/mlflow-venv. It
// skips the test when that holds no python and mlflow, or fails it when
// MODELGATE_REQUIRE_INTEGRATION=1 (the test command sets it).
func MLflowVenv(tb testing.TB) string {
	tb.Helper()
	dir := os.Getenv("MODELGATE_MLFLOW_VENV")
	if dir == "" {
		dir = filepath.Join("..", ".cache", "mlflow-venv")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		tb.Fatal(err)
	}
	for _, bin := range []string{"python", "mlflow"} {
		if _, err := os.Stat(filepath.Join(abs, "bin", bin)); err != nil {
			SkipOrFail(tb, fmt.Sprintf("no MLflow virtualenv at %s; install it with scripts/mlflow-env", abs))
		}
	}
	return abs
}

// SkipOrFail skips the test for want of an integration dependency, or
// fails it when MODELGATE_REQUIRE_INTEGRATION=1 says every dependency must
// be there.
func SkipOrFail(tb testing.TB, msg string) {
	tb.Helper()
	if os.Getenv("MODELGATE_REQUIRE_INTEGRATION") == "1" {
		tb.Fatal(msg)
	}
	tb.Skip(msg)
}
