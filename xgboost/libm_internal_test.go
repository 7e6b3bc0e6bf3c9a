package xgboost

import (
	"encoding/binary"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestLibm checks expf and logf bit for bit against the C library's, which
// testdata/libm.py calls through ctypes for 200,000 inputs each.
func TestLibm(t *testing.T) {
	python := os.Getenv("MODELGATE_MLFLOW_VENV")
	if python == "" {
		python = filepath.Join("..", ".cache", "mlflow-venv")
	}
	python = filepath.Join(python, "bin", "python")
	if _, err := os.Stat(python); err != nil {
		if os.Getenv("MODELGATE_REQUIRE_INTEGRATION") == "1" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	dir := t.TempDir()
	if out, err := exec.Command(python, filepath.Join("testdata", "libm.py"), dir).CombinedOutput(); err != nil {
		t.Fatalf("libm.py: %v\n%s", err, out)
	}
	for name, fn := range map[string]func(float32) float32{"expf": expf, "logf": logf} {
		b, err := os.ReadFile(filepath.Join(dir, name+".bin"))
		if err != nil {
			t.Fatal(err)
		}
		bad, naive := 0, 0
		for i := 0; i+8 <= len(b); i += 8 {
			x := math.Float32frombits(binary.BigEndian.Uint32(b[i:]))
			want := math.Float32frombits(binary.BigEndian.Uint32(b[i+4:]))
			if got := fn(x); math.Float32bits(got) != math.Float32bits(want) {
				if bad++; bad <= 5 {
					t.Errorf("%s(%v) = %v, C gives %v", name, x, got, want)
				}
			}
			if float32(roundTrip(name, x)) != want {
				naive++
			}
		}
		t.Logf("%s: %d inputs, %d differ from C; rounding the float64 function would differ in %d", name, len(b)/8, bad, naive)
		if len(b)/8 < 100000 {
			t.Errorf("%s: only %d inputs", name, len(b)/8)
		}
	}
}

func roundTrip(name string, x float32) float64 {
	if name == "expf" {
		return math.Exp(float64(x))
	}
	return math.Log(float64(x))
}
