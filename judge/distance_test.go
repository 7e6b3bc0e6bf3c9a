package judge

import (
	"encoding/json"
	"math"
	"os"
	"testing"
)

// TestDistancesAgainstScipy checks the drift statistics against values
// computed by scipy (testdata/expected.py wrote testdata/expected.json).
func TestDistancesAgainstScipy(t *testing.T) {
	var want struct {
		Samples []struct {
			Name        string
			A, B        []float64
			KSD         float64 `json:"ks_d"`
			KSP         float64 `json:"ks_p"`
			Wasserstein float64
		}
		Bins []struct {
			Name                string
			P, Q, Observed      []float64
			PSI, JS, LInf, Chi2 float64
			Chi2P               float64 `json:"chi2_p"`
		}
	}
	b, err := os.ReadFile("testdata/expected.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	close := func(t *testing.T, what string, got, want float64) {
		t.Helper()
		if math.Abs(got-want) > 1e-9+1e-7*math.Abs(want) {
			t.Errorf("%s = %.12g, scipy %.12g", what, got, want)
		}
	}
	for _, c := range want.Samples {
		t.Run(c.Name, func(t *testing.T) {
			a, b := newSample(c.A), newSample(c.B)
			d := ksD(a, b)
			close(t, "ks_d", d, c.KSD)
			close(t, "ks_p", ksPValue(d, a.n, b.n), c.KSP)
			close(t, "wasserstein", wasserstein(a, b), c.Wasserstein)
		})
	}
	for _, c := range want.Bins {
		t.Run(c.Name, func(t *testing.T) {
			close(t, "psi", psi(c.P, c.Q), c.PSI)
			close(t, "js", jsDistance(c.P, c.Q), c.JS)
			close(t, "linf", lInf(c.P, c.Q), c.LInf)
			chi, p := chiSquare(c.Observed, c.P)
			close(t, "chi2", chi, c.Chi2)
			close(t, "chi2_p", p, c.Chi2P)
		})
	}
}

func TestQuantileRanksCover(t *testing.T) {
	for _, q := range []float64{0.5, 0.95, 0.99} {
		lo, hi := quantileRanks(q, 10000, 0.01, 100)
		if !(lo < q && q < hi) || hi-lo > 0.1 {
			t.Errorf("q=%g: ranks [%g, %g]", q, lo, hi)
		}
		lo2, hi2 := quantileRanks(q, 100000, 0.01, 100)
		if hi2-lo2 >= hi-lo {
			t.Errorf("q=%g: band does not narrow with data: %g then %g", q, hi-lo, hi2-lo2)
		}
	}
}

func TestDKWConstant(t *testing.T) {
	// confseq's EmpiricalProcessLILBound, A = 0.85: C(0.05) ≈ 8.1 (the
	// closed form 0.8·log(1612/α) gives 8.3).
	if c := dkwC(0.05); c < 7.5 || c > 8.7 {
		t.Fatalf("C(0.05) = %g", c)
	}
	if dkwEpsilon(100, 200, 0.05) != 1 {
		t.Fatal("band below tMin must be uninformative")
	}
}
