package modelgatetest

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/modelgate/modelgate"
)

// MustModelDir writes a small MLflow model directory under tb.TempDir() and
// returns its path: MLmodel, model.pkl, requirements.txt and
// code/predict.py (a file in a subdirectory). The contents depend on seed,
// so different seeds give different digests and equal seeds equal ones.
func MustModelDir(tb testing.TB, seed string) string {
	tb.Helper()
	dir := tb.TempDir()
	files := map[string]string{
		"MLmodel": "artifact_path: model\nflavors:\n  python_function:\n    loader_module: mlflow.sklearn\n" +
			"    python_version: 3.11.9\n  sklearn:\n    pickled_model: model.pkl\n" +
			"model_uuid: " + seed + "\n",
		"model.pkl":        "\x80\x04\x95pickled-model-" + seed + "\x00\x01\x02\xff",
		"requirements.txt": "mlflow==3.9.0\nscikit-learn==1.5.2\n",
		"code/predict.py":  "def predict(x):\n    return x  # " + seed + "\n",
	}
	for rel, content := range files {
		mustWriteFile(tb, filepath.Join(dir, rel), content)
	}
	return dir
}

func mustWriteFile(tb testing.TB, path, content string) {
	tb.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		tb.Fatal(err)
	}
}

func mustDigest(tb testing.TB, dir string) string {
	tb.Helper()
	d, err := modelgate.DirDigest(dir)
	if err != nil {
		tb.Fatalf("DirDigest(%s): %v", dir, err)
	}
	return d
}

// uniqueName returns a model name no earlier run used, so the registry suite
// can run against a shared, non-empty registry (a real MLflow server).
func uniqueName(suffix string) string {
	return fmt.Sprintf("mgtest-%08x-%s", rand.Uint32(), suffix)
}

// Clock is a settable clock for code that takes Now func() time.Time.
// It is safe for concurrent use.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a clock reading start.
func NewClock(start time.Time) *Clock { return &Clock{now: start} }

// Now returns the clock's current reading.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// wantCode fails the test unless err carries code.
func wantCode(tb testing.TB, what string, err error, code string) {
	tb.Helper()
	if got := modelgate.ErrorCode(err); got != code {
		tb.Errorf("%s: error code %q (%v), want %q", what, got, err, code)
	}
}

// errOf drops a result to keep the error, for tables of failing calls.
func errOf[T any](_ T, err error) error { return err }
