package lightgbm

import (
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"
)

// TestQuickScorer_MatchesReference predicts rows full of awkward values
// (NaN, ±0, ±inf, values within kZeroThreshold of zero, thresholds,
// categories out of range) with every testdata model that fits QuickScorer
// and the demand-forecast example, through QuickScorer and through the
// walk, in blocks and one row at a time, and wants exactly the plain
// evaluator's results.
func TestQuickScorer_MatchesReference(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join("testdata", "*.txt"))
	if err != nil || len(paths) < 10 {
		t.Fatalf("want the testdata models, got %v %v", paths, err)
	}
	paths = append(paths, filepath.Join("..", "examples", "demand-forecast", "models", "v2", "model.lgb"))
	rng := rand.New(rand.NewPCG(10, 11))
	fits := 0
	for _, p := range paths {
		m, err := ParseFile(p)
		if err != nil {
			t.Fatal(err)
		}
		qs := buildQuickScorer(&m.flat)
		if qs == nil {
			continue
		}
		fits++
		rows := awkwardRows(rng, m, 2*blockRows+7, thresholds(m))
		for _, walk := range []bool{false, true} {
			m.flat.qs = qs
			if walk {
				m.flat.qs = nil
			}
			got := make([]float64, len(rows)*m.outputs)
			m.predictChunk(rows, got, true)
			for i, r := range rows {
				want := referenceModel(m, r, true)
				one, _ := m.predictOne(r, true)
				for k := range want {
					if !same(got[i*m.outputs+k], want[k]) || !same(one[k], want[k]) {
						t.Fatalf("%s walk=%v row %v output %d: block %v, row %v, reference %v", p, walk, r, k, got[i*m.outputs+k], one[k], want[k])
					}
				}
			}
		}
	}
	if fits < 10 {
		t.Errorf("%d models fit QuickScorer, want at least 10: the test no longer tests it", fits)
	}
}

// thresholds is every numerical threshold of m and its float64 neighbours,
// where an off-by-one in the sorted scan would show.
func thresholds(m *Model) []float64 {
	var ts []float64
	for _, n := range m.flat.nodes {
		if !n.categorical {
			ts = append(ts, n.threshold, math.Nextafter(n.threshold, math.Inf(-1)), math.Nextafter(n.threshold, math.Inf(1)))
		}
	}
	return ts
}

// awkwardRows makes n rows for m: a third of the values special, a third
// thresholds (or their neighbours) of the model, the rest random.
func awkwardRows(rng *rand.Rand, m *Model, n int, ts []float64) [][]float64 {
	special := []float64{math.NaN(), 0, math.Copysign(0, -1), math.Inf(1), math.Inf(-1), 1e-36, -1e-36, kZeroThreshold, -kZeroThreshold, -1, -0.5, 0.5, 31.5, 32, 63, 64, 70, 1e10, 3e9}
	rows := make([][]float64, n)
	for i := range rows {
		rows[i] = make([]float64, m.NumFeatures())
		for j := range rows[i] {
			switch rng.IntN(3) {
			case 0:
				rows[i][j] = special[rng.IntN(len(special))]
			case 1:
				if len(ts) > 0 {
					rows[i][j] = ts[rng.IntN(len(ts))]
					break
				}
				fallthrough
			default:
				rows[i][j] = rng.NormFloat64() * 3
			}
		}
	}
	return rows
}

// TestQuickScorer_Fits checks which models get QuickScorer: the
// demand-forecast example (many shallow trees, a categorical feature) does;
// linear trees and trees of more than 64 leaves do not.
func TestQuickScorer_Fits(t *testing.T) {
	m, err := ParseFile(filepath.Join("..", "examples", "demand-forecast", "models", "v2", "model.lgb"))
	if err != nil {
		t.Fatal(err)
	}
	if m.flat.qs == nil {
		t.Error("demand-forecast v2: the walk was chosen, want QuickScorer")
	}
	lin, err := ParseFile(filepath.Join("testdata", "linear.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if buildQuickScorer(&lin.flat) != nil {
		t.Error("linear trees: QuickScorer built, want nil")
	}
	for _, leaves := range []int{64, 65} {
		tr := chainTree(leaves)
		f := flatten([]tree{tr})
		qs := buildQuickScorer(&f)
		if got := qs != nil; got != (leaves <= 64) {
			t.Errorf("a tree of %d leaves: QuickScorer built %v, want %v", leaves, got, leaves <= 64)
		}
		if qs == nil {
			continue
		}
		for x := -1.0; x < 70; x += 0.5 { // every leaf, the last one (bit 63) too
			out := []float64{0}
			qs.addRows([][]float64{{x}}, out, 1, make([]uint64, 1))
			if want := tr.predict([]float64{x}); out[0] != want {
				t.Errorf("a tree of %d leaves, x=%v: QuickScorer %v, want %v", leaves, x, out[0], want)
			}
		}
	}
}

// chainTree is a tree of n leaves, each split sending v <= its threshold
// to a leaf and the rest on.
func chainTree(n int) tree {
	t := tree{leaves: make([]float64, n)}
	for i := range n - 1 {
		right := int32(i + 1)
		if i == n-2 {
			right = ^int32(n - 1)
		}
		t.nodes = append(t.nodes, node{threshold: float64(i), left: ^int32(i), right: right, missing: missingNaN})
		t.leaves[i] = float64(i)
	}
	return t
}

// TestQuickScorer_TableSpacing rebuilds the demand-forecast model's
// numerical tables with a row every 1, 2, 3, 7 and 1000 distinct
// thresholds (the last, one row: all scan) and wants the plain evaluator's
// results each time, on values at and around every threshold.
func TestQuickScorer_TableSpacing(t *testing.T) {
	m, err := ParseFile(filepath.Join("..", "examples", "demand-forecast", "models", "v2", "model.lgb"))
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(12, 13))
	rows := awkwardRows(rng, m, 3*blockRows, thresholds(m))
	for _, every := range []int{1, 2, 3, 7, 1000} {
		b := planQuickScorer(&m.flat)
		tables := 0
		for _, s := range b.num {
			if s.every > 0 {
				s.every, tables = every, tables+1
			}
		}
		if tables < 2 {
			t.Fatalf("%d numerical features with a table, want the demand-forecast model's 2 or more", tables)
		}
		m.flat.qs = b.build()
		got := make([]float64, len(rows))
		m.predictChunk(rows, got, true)
		for i, r := range rows {
			if want := referenceModel(m, r, true); !same(got[i], want[0]) {
				t.Fatalf("a table row every %d thresholds, row %v: %v, reference %v", every, r, got[i], want[0])
			}
		}
	}
}
