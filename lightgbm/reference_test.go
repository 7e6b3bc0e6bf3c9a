package lightgbm

import (
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"
)

// This file keeps the plain evaluator the package had before flat.go: one
// tree at a time, one row at a time, LightGBM's decision functions written
// as they are in tree.h. TestFlat_MatchesReference holds the flat layout's
// block and row walks to it, bit for bit.

// referenceModel sums m's trees for x the plain way: file order, then
// averaging and the transform unless raw.
func referenceModel(m *Model, x []float64, raw bool) []float64 {
	out := make([]float64, m.outputs)
	for i := range m.trees {
		out[i%m.outputs] += m.trees[i].predict(x)
	}
	m.finish(out, raw)
	return out
}

// predict returns the output of the leaf x falls into.
func (t *tree) predict(x []float64) float64 {
	if len(t.nodes) == 0 {
		if t.linear != nil {
			return t.linear.output(0, t.leaves[0], x, 1, 0)
		}
		return t.leaves[0]
	}
	i := int32(0)
	for i >= 0 {
		n := &t.nodes[i]
		var left bool // written out rather than a goLeft method, which would not be inlined
		if n.categorical {
			left = n.categoryLeft(x[n.feature], t.cats)
		} else {
			left = n.numericalLeft(x[n.feature])
		}
		if left {
			i = n.left
		} else {
			i = n.right
		}
	}
	if t.linear != nil {
		return t.linear.output(int(^i), t.leaves[^i], x, 1, 0)
	}
	return t.leaves[^i]
}

// numericalLeft is Tree::NumericalDecision. Values within kZeroThreshold of
// zero become 0 first, as LightGBM's C API drops them from the row before any
// tree sees it.
func (n *node) numericalLeft(v float64) bool {
	switch {
	case v != v: // NaN
		if n.missing == missingNaN {
			return n.defaultLeft
		}
		v = 0
	case v >= -kZeroThreshold && v <= kZeroThreshold:
		v = 0
	}
	if n.missing == missingZero && v == 0 {
		return n.defaultLeft
	}
	return v <= n.threshold
}

// categoryLeft is Tree::CategoricalDecision: NaN and negative categories go
// right; otherwise the value is truncated to an int (so -0.5 and 0.7 are
// category 0) and looked up in the split's bitset of 32-bit words. Values
// beyond int32 go right, as the x86 conversion LightGBM relies on yields
// INT_MIN for them.
func (n *node) categoryLeft(v float64, cats []uint32) bool {
	if !(v > -1) || v >= math.MaxInt32+1 {
		return false
	}
	c := int(v)
	w := c / 32
	if w >= int(n.catHi-n.catLo) {
		return false
	}
	return cats[int(n.catLo)+w]>>(c%32)&1 == 1
}

// TestFlat_MatchesReference predicts rows full of awkward values (NaN, ±0,
// ±inf, values within kZeroThreshold of zero, thresholds, categories out of
// range) with every testdata model, through the block walk (in batches
// that leave a partial block) and the row walk, and wants exactly the plain
// evaluator's results.
func TestFlat_MatchesReference(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join("testdata", "*.txt"))
	if err != nil || len(paths) < 10 {
		t.Fatalf("want the testdata models, got %v %v", paths, err)
	}
	rng := rand.New(rand.NewPCG(8, 9))
	special := []float64{math.NaN(), 0, math.Copysign(0, -1), math.Inf(1), math.Inf(-1), 1e-36, -1e-36, kZeroThreshold, -kZeroThreshold, -1, -0.5, 0.5, 31.5, 32, 70, 1e10, 3e9}
	for _, p := range paths {
		m, err := ParseFile(p)
		if err != nil {
			t.Fatal(err)
		}
		rows := make([][]float64, 3*blockRows+5)
		for i := range rows {
			rows[i] = make([]float64, m.NumFeatures())
			for j := range rows[i] {
				if rng.IntN(3) == 0 {
					rows[i][j] = special[rng.IntN(len(special))]
				} else {
					rows[i][j] = rng.NormFloat64() * 3
				}
			}
		}
		for _, raw := range []bool{false, true} {
			batch := make([]float64, len(rows)*m.outputs)
			m.predictChunk(rows, batch, raw)
			for i, r := range rows {
				want := referenceModel(m, r, raw)
				one, _ := m.predictOne(r, raw)
				for k := range want {
					if !same(batch[i*m.outputs+k], want[k]) || !same(one[k], want[k]) {
						t.Fatalf("%s raw=%v row %v output %d: block %v, row %v, reference %v", p, raw, r, k, batch[i*m.outputs+k], one[k], want[k])
					}
				}
			}
		}
	}
}

func same(a, b float64) bool {
	return math.Float64bits(a) == math.Float64bits(b) || (a != a && b != b)
}
