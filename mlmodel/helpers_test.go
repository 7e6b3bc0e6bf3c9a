package mlmodel_test

import (
	"encoding/csv"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/mlmodel"
)

// goldenTolerance is the largest accepted |go - python| / max(1, |python|).
const goldenTolerance = 1e-9

func relDiff(got, want float64) float64 {
	return math.Abs(got-want) / max(1, math.Abs(want))
}

// mustCopyDir copies the model directory src into a fresh temporary
// directory, so a test can corrupt it.
func mustCopyDir(tb testing.TB, src string) string {
	tb.Helper()
	dst := filepath.Join(tb.TempDir(), filepath.Base(src))
	if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
		tb.Fatal(err)
	}
	return dst
}

// mustEdit replaces old by new in dir/name; old must occur.
func mustEdit(tb testing.TB, dir, name, old, new string) {
	tb.Helper()
	path := filepath.Join(dir, name)
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	if !strings.Contains(string(b), old) {
		tb.Fatalf("%s does not contain %q", name, old)
	}
	if err := os.WriteFile(path, []byte(strings.Replace(string(b), old, new, 1)), 0o644); err != nil {
		tb.Fatal(err)
	}
}

func mustLoad(tb testing.TB, dir string) *mlmodel.Model {
	tb.Helper()
	m, err := mlmodel.Load(dir)
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

func mustReadCSV(tb testing.TB, path string) [][]string {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		tb.Fatal(err)
	}
	return recs
}

// wantError checks err's code and that its message is exactly msg.
func wantError(tb testing.TB, err error, code, msg string) {
	tb.Helper()
	if got := modelgate.ErrorCode(err); got != code {
		tb.Errorf("got code %q (%v), want %q", got, err, code)
	}
	if got := modelgate.ErrorMessage(err); got != msg {
		tb.Errorf("got message\n  %q\nwant\n  %q", got, msg)
	}
}
