package mlmodel_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkServe measures one request instance through Features and Predict
// on the demand-forecast example's v2 (200 trees of 31 leaves, a
// categorical split feature).
func BenchmarkServe(b *testing.B) {
	dir := filepath.Join(exampleDir, "models", "v2")
	if _, err := os.Stat(dir); err != nil {
		b.Skipf("the demand-forecast example is not generated yet (%v)", err)
	}
	m := mustLoad(b, dir)
	var req struct{ Instances []any }
	if err := json.Unmarshal([]byte(playbookSmoke), &req); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		rows, err := m.Features(req.Instances)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := m.Predict(rows); err != nil {
			b.Fatal(err)
		}
	}
}
