package lightgbm

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
	nodes  []node        // internal nodes; empty for a single-leaf tree
	leaves []float64     // leaf outputs
	cats   []uint32      // cat_threshold: the bitsets of every categorical split
	linear *linearLeaves // nil unless is_linear=1
}

// linearLeaves are the leaf models of a linear tree: leaf i outputs
// consts[i] + Σ coeffs[j]*x[features[j]] over j in [start[i], start[i+1]),
// or its leaf_value if one of those x is NaN (Tree::Predict).
type linearLeaves struct {
	consts   []float64
	start    []int32
	features []int32
	coeffs   []float64
}

// output is leaf's output for a row whose value of feature f is
// x[f*stride+r], zero-snapped as every split sees it. Each product is
// rounded before it is added, as LightGBM's x86-64 build does (float64()
// keeps Go from fusing a multiply-add).
func (l *linearLeaves) output(leaf int, leafValue float64, x []float64, stride, r int) float64 {
	out := l.consts[leaf]
	for j := l.start[leaf]; j < l.start[leaf+1]; j++ {
		v := snap(x[int(l.features[j])*stride+r])
		if v != v {
			return leafValue
		}
		out += float64(l.coeffs[j] * v)
	}
	return out
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
