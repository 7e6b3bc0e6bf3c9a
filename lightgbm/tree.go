package lightgbm

import "math"

// kZeroThreshold is LightGBM's kZeroThreshold (meta.h): the float literal
// 1e-35f widened to double. Values within it of zero count as zero.
const kZeroThreshold = float64(float32(1e-35))

// Missing-value types, bits 2-3 of a split's decision_type.
const (
	missingNone = 0 // NaN is treated as 0
	missingZero = 1 // 0 (and NaN, which becomes 0) take the default side
	missingNaN  = 2 // NaN takes the default side
)

// decision_type bits.
const (
	maskCategorical = 1
	maskDefaultLeft = 2
)

// tree is one regression tree. Children are encoded as in LightGBM: a
// non-negative child is an internal node index, a negative one is ^leaf.
type tree struct {
	nodes  []node    // internal nodes; empty for a single-leaf tree
	leaves []float64 // leaf outputs
	cats   []uint32  // cat_threshold: the bitsets of every categorical split
}

// node is one split, laid out for a tight prediction loop.
type node struct {
	threshold   float64 // numerical split: go left when value <= threshold
	feature     int32
	left, right int32
	catLo       int32 // categorical split: its bitset is cats[catLo:catHi]
	catHi       int32
	categorical bool
	defaultLeft bool
	missing     uint8
}

// predict returns the output of the leaf x falls into.
func (t *tree) predict(x []float64) float64 {
	if len(t.nodes) == 0 {
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
