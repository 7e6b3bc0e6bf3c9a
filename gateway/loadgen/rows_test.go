package loadgen_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/modelgate/modelgate/gateway/loadgen"
)

func TestReadInstances(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rows.csv")
	if err := os.WriteFile(path, []byte("store_id,date,promo\n42,2025-01-15,1\n7,2025-01-16,0\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := loadgen.ReadInstances(path)
	if err != nil {
		t.Fatal(err)
	}
	want := []map[string]any{
		{"store_id": 42.0, "date": "2025-01-15", "promo": 1.0},
		{"store_id": 7.0, "date": "2025-01-16", "promo": 0.0},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("instances (-want +got):\n%s", diff)
	}
	bodies := loadgen.V1Bodies(got)
	if len(bodies) != 2 || string(bodies[1]) != `{"instances":[{"date":"2025-01-16","promo":0,"store_id":7}]}` {
		t.Errorf("bodies %q", bodies)
	}
	if err := os.WriteFile(path, []byte("store_id\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := loadgen.ReadInstances(path); err == nil {
		t.Error("a header without rows was accepted")
	}
}
