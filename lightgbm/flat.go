package lightgbm

import "math"

// flatNode is one split of the flattened model: every tree's splits in one
// slice, 24 bytes a split, so a tree of 63 leaves is 1.5 KB and stays in L1
// while a block of rows walks it.
type flatNode struct {
	// threshold: numerical split, go left when v <= threshold; categorical
	// split, the bits of catLo<<32 | catWords.
	threshold float64
	// child is [left, right]: a split's index in flatModel.nodes, or ^i for
	// leaf i of flatModel.leaves.
	child [2]int32
	// feature is the split's feature times blockRows: where its values start
	// in a block's feature-major scratch.
	feature int32
	// specialLeft is 1 when a "special" value goes left: NaN always, and 0
	// when zeroMissing. For missing type None that is where NaN, read as 0,
	// goes (0 <= threshold); for NaN and Zero the default direction.
	specialLeft uint8
	zeroMissing uint8 // 1 for missing type Zero: 0 takes the default side
	categorical bool
}

// flatModel is the whole model as one slice of splits and one of leaves.
// Trees keep their file order: tree t starts at roots[t] (^leaf for a
// single-leaf tree) and adds into output t % outputs.
type flatModel struct {
	nodes  []flatNode
	leaves []float64
	cats   []uint32 // every tree's cat_threshold words, one after another
	roots  []int32
	// linear[t] is tree t's leaf models when it is a linear tree, and
	// leafBase[t] where its leaves start in leaves; linear is nil when no
	// tree is linear.
	linear   []*linearLeaves
	leafBase []int32
}

// flatten lays trees out as a flatModel, each tree's splits in depth-first
// order (a split, then its left subtree, then its right).
func flatten(trees []tree) flatModel {
	var f flatModel
	for i := range trees {
		t := &trees[i]
		if t.linear != nil && f.linear == nil {
			f.linear = make([]*linearLeaves, len(trees))
		}
		if t.linear != nil {
			f.linear[i] = t.linear
		}
		f.leafBase = append(f.leafBase, int32(len(f.leaves)))
		f.roots = append(f.roots, f.add(t, 0, int32(len(f.cats)), int32(len(f.leaves))))
		f.leaves = append(f.leaves, t.leaves...)
		f.cats = append(f.cats, t.cats...)
	}
	return f
}

// add appends the subtree of t at child (encoded as in tree: ^leaf for a
// leaf; a single-leaf tree is ^0) and returns its encoded index. catBase and
// leafBase are where t's words and leaves start in f.
func (f *flatModel) add(t *tree, child, catBase, leafBase int32) int32 {
	if len(t.nodes) == 0 || child < 0 {
		return ^(leafBase + ^min(child, -1))
	}
	at := int32(len(f.nodes))
	n := &t.nodes[child]
	f.nodes = append(f.nodes, flatSplit(n, catBase))
	l := f.add(t, n.left, catBase, leafBase)
	r := f.add(t, n.right, catBase, leafBase)
	f.nodes[at].child = [2]int32{l, r}
	return at
}

// flatSplit is node n's decision in flatNode form.
func flatSplit(n *node, catBase int32) flatNode {
	fn := flatNode{threshold: n.threshold, feature: n.feature * blockRows}
	if n.categorical {
		lo, words := uint64(catBase+n.catLo), uint64(n.catHi-n.catLo)
		fn.threshold, fn.categorical = math.Float64frombits(lo<<32|words), true
		return fn
	}
	switch {
	case n.missing == missingNone && 0 <= n.threshold, n.missing != missingNone && n.defaultLeft:
		fn.specialLeft = 1
	}
	if n.missing == missingZero {
		fn.zeroMissing = 1
	}
	return fn
}

// b2u is 1 for true; the compiler turns it into a SETcc, no branch.
func b2u(b bool) uint8 {
	var u uint8
	if b {
		u = 1
	}
	return u
}

// next is the child of n that v (zero-snapped, see snap) goes to: the rules
// of tree.go's numericalLeft and categoryLeft, written without branches for
// numerical splits because a mispredicted branch costs more than the
// arithmetic.
func (n *flatNode) next(v float64, cats []uint32) int32 {
	if n.categorical {
		return n.child[b2u(!n.categoryLeft(v, cats))]
	}
	le := b2u(v <= n.threshold) // false for NaN
	z := n.zeroMissing & b2u(v == 0)
	special := b2u(v != v) | z
	return n.child[(le&^z|special&n.specialLeft)^1]
}

// categoryLeft is tree.go's categoryLeft for a flat node.
func (n *flatNode) categoryLeft(v float64, cats []uint32) bool {
	if !(v > -1) || v >= math.MaxInt32+1 {
		return false
	}
	bits := math.Float64bits(n.threshold)
	lo, words := int(bits>>32), int(uint32(bits))
	c := int(v)
	if c/32 >= words {
		return false
	}
	return cats[lo+c/32]>>(c%32)&1 == 1
}

// snap is the value a split sees: values within kZeroThreshold of zero are
// 0, as LightGBM's C API drops them from the row before any tree sees it.
func snap(v float64) float64 {
	if v >= -kZeroThreshold && v <= kZeroThreshold {
		return 0
	}
	return v
}

// addRow adds every tree's output for one row x into out (len outputs), in
// file order.
func (f *flatModel) addRow(x, out []float64) {
	nodes, cats, k := f.nodes, f.cats, len(out)
	for t, i := range f.roots {
		for i >= 0 {
			n := &nodes[i]
			i = n.next(snap(x[n.feature/blockRows]), cats)
		}
		if f.linear != nil && f.linear[t] != nil {
			out[t%k] += f.linear[t].output(int(^i-f.leafBase[t]), f.leaves[^i], x, 1, 0)
			continue
		}
		out[t%k] += f.leaves[^i]
	}
}

// blockRows is how many rows walk a tree together: enough independent walks
// to hide each step's latency, few enough that their values stay in L1.
const blockRows = 128

// blockScratch is one goroutine's working memory for addBlock.
type blockScratch struct {
	x      []float64 // the block's values, feature by feature: x[f*blockRows+r]
	idx    [blockRows]int32
	active [blockRows]uint8 // rows not yet at a leaf; blockRows <= 256
}

func newBlockScratch(nf int) *blockScratch {
	return &blockScratch{x: make([]float64, blockRows*nf)}
}

// addBlock adds every tree's output for rows (at most blockRows) into out,
// k values a row, in file order for each row. Tree by tree, every row of the
// block still on its way takes one step, then the next: the walks are
// independent, so the processor overlaps them, and the tree stays in cache.
func (f *flatModel) addBlock(rows [][]float64, out []float64, k int, s *blockScratch) {
	for r, row := range rows {
		for j, v := range row {
			s.x[j*blockRows+r] = snap(v)
		}
	}
	for t, root := range f.roots {
		idx, active := s.idx[:len(rows)], s.active[:len(rows)]
		for r := range idx {
			idx[r], active[r] = root, uint8(r)
		}
		if root < 0 {
			active = nil
		}
		for len(active) > 0 {
			active = f.step(s.x, idx, active)
		}
		if f.linear != nil && f.linear[t] != nil {
			f.addLinear(t, s.x, idx, out[t%k:], k)
			continue
		}
		for r, i := range idx {
			out[r*k+t%k] += f.leaves[^i]
		}
	}
}

// addLinear adds linear tree t's output for the rows of a block, row r at
// leaf ^idx[r], to out[r*k].
func (f *flatModel) addLinear(t int, x []float64, idx []int32, out []float64, k int) {
	l, base := f.linear[t], f.leafBase[t]
	for r, i := range idx {
		out[r*k] += l.output(int(^i-base), f.leaves[^i], x, blockRows, r)
	}
}

// step moves every active row one node down, row r from idx[r] to its
// child, and returns the rows still not at a leaf. It is next, written out
// because the compiler does not inline next into this loop.
func (f *flatModel) step(x []float64, idx []int32, active []uint8) []uint8 {
	nodes, cats := f.nodes, f.cats
	w := 0
	for _, r := range active {
		n := &nodes[idx[r]]
		v := x[int(n.feature)+int(r)]
		var i int32
		if n.categorical {
			i = n.child[b2u(!n.categoryLeft(v, cats))]
		} else {
			le := b2u(v <= n.threshold)
			z := n.zeroMissing & b2u(v == 0)
			special := b2u(v != v) | z
			i = n.child[(le&^z|special&n.specialLeft)^1]
		}
		idx[r] = i
		active[w] = r
		w += int(uint32(i)>>31 ^ 1)
	}
	return active[:w]
}
