package lightgbm

// A single row walked tree after tree waits at every split for the split
// before it: each step is a chain of dependent loads. Walking all trees of
// the model at once, one step each in turn, gives the processor hundreds of
// independent walks to overlap, as addBlock does with rows. The leaves are
// then summed in file order, so the result is addRow's to the bit.

// rowScratch is one call's working memory for addRowWide.
type rowScratch struct {
	x      []float64 // the row, snapped, feature f at x[f*blockRows] (flatNode.feature's scale)
	idx    []int32   // tree t's current node, then its leaf (^i)
	active []int32   // trees not yet at a leaf
}

func newRowScratch(nFeatures, nTrees int) *rowScratch {
	return &rowScratch{
		x:      make([]float64, nFeatures*blockRows),
		idx:    make([]int32, nTrees),
		active: make([]int32, nTrees),
	}
}

// addRowWide adds every tree's output for one row x into out (len outputs),
// in file order, walking the trees side by side.
func (f *flatModel) addRowWide(x, out []float64, s *rowScratch) {
	for j, v := range x {
		s.x[j*blockRows] = snap(v)
	}
	active := s.active[:0]
	for t, root := range f.roots {
		s.idx[t] = root
		if root >= 0 {
			active = append(active, int32(t))
		}
	}
	for len(active) > 0 {
		active = f.stepTrees(s.x, s.idx, active)
	}
	k := len(out)
	for t, i := range s.idx[:len(f.roots)] {
		if f.linear != nil && f.linear[t] != nil {
			out[t%k] += f.linear[t].output(int(^i-f.leafBase[t]), f.leaves[^i], s.x, blockRows, 0)
			continue
		}
		out[t%k] += f.leaves[^i]
	}
}

// stepTrees moves every active tree's walk of row x one node down and
// returns the trees still not at a leaf. Its split rule is step's.
func (f *flatModel) stepTrees(x []float64, idx []int32, active []int32) []int32 {
	nodes, cats := f.nodes, f.cats
	w := 0
	for _, t := range active {
		n := &nodes[idx[t]]
		v := x[n.feature]
		var i int32
		if n.categorical {
			i = n.child[b2u(!n.categoryLeft(v, cats))]
		} else {
			le := b2u(v <= n.threshold)
			z := n.zeroMissing & b2u(v == 0)
			special := b2u(v != v) | z
			i = n.child[(le&^z|special&n.specialLeft)^1]
		}
		idx[t] = i
		active[w] = t
		w += int(uint32(i)>>31 ^ 1)
	}
	return active[:w]
}
