package profile_test

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/judge"
	"github.com/modelgate/modelgate/profile"
)

func TestProfileRoundTripAndDrift(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	b := profile.NewBuilder([]string{"x", "store"}, "store")
	var xs, cur []float64
	for i := range 50000 {
		x := 10 + 2*r.NormFloat64()
		xs = append(xs, x)
		cur = append(cur, 10.4+2*r.NormFloat64()) // shifted by 0.2 sd
		if err := b.AddRow([]float64{x, float64(i % 3)}); err != nil {
			t.Fatal(err)
		}
		b.AddPrediction(x * 3)
	}
	if err := b.AddRow([]float64{1}); err == nil {
		t.Fatal("short row accepted")
	}
	raw, err := json.Marshal(b.Profile())
	if err != nil {
		t.Fatal(err)
	}
	var p modelgate.Profile
	if err := json.Unmarshal(raw, &p); err != nil {
		t.Fatal(err)
	}
	if p.Rows != 50000 || p.Features["store"].Counts["2"] != 16666 || p.Predictions.Count != 50000 {
		t.Fatalf("profile rows %d, store counts %v, predictions %d", p.Rows, p.Features["store"].Counts, p.Predictions.Count)
	}
	if len(raw) > 20000 {
		t.Fatalf("profile is %d bytes; sketches should keep it small", len(raw))
	}
	same, err := judge.DriftFigures(p.Features["x"], profile.Distribution(xs, false), 10)
	if err != nil {
		t.Fatal(err)
	}
	if same["psi"] != 0 || same["ks_d"] != 0 || same["wasserstein_norm"] != 0 {
		t.Fatalf("identical data drifts: %v", same)
	}
	shifted, err := judge.DriftFigures(p.Features["x"], profile.Distribution(cur, false), 10)
	if err != nil {
		t.Fatal(err)
	}
	// A 0.2 sd shift: Wasserstein/sd ≈ 0.2, KS D ≈ 2Φ(0.1) − 1 ≈ 0.080,
	// PSI ≈ 0.04; the 1% sketch moves them slightly.
	if math.Abs(shifted["wasserstein_norm"]-0.2) > 0.02 || math.Abs(shifted["ks_d"]-0.080) > 0.01 || math.Abs(shifted["psi"]-0.04) > 0.01 {
		t.Fatalf("0.2 sd shift: %v", shifted)
	}
}
