package lightgbm

import (
	"math"
	"slices"
)

// flatNode is one split of the flattened model: every tree's splits in one
// slice, 24 bytes a split, so a tree of 63 leaves is 1.5 KB and stays in L1
// while a block of rows walks it.
type flatNode struct {
	// threshold: numerical split, go left when v <= threshold; categorical
	// split, the bits of lo<<32 | words: its bitset is cats[lo:lo+words],
	// followed by a zero word.
	threshold float64
	// child is [left, right]: a split's index in flatModel.nodes, or ^i for
	// leaf i of flatModel.leaves.
	child [2]int32
	// feature is the split's slot times blockRows: where its values (or, for
	// a categorical split, its category codes) start in a block's scratch;
	// see flatModel.catFeatures.
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
	// catFeatures are the features some categorical split tests. A block's
	// scratch starts with their category codes (catCode), feature
	// catFeatures[j]'s in slot j, then holds every feature's values, feature
	// f's in slot len(catFeatures)+f.
	catFeatures []int32
	// qs is the trees in QuickScorer form (quickscorer.go), which addBlock
	// uses when the model fits it; nil otherwise.
	qs *quickScorer
}

// flatten lays trees out as a flatModel, each tree's splits in depth-first
// order (a split, then its left subtree, then its right).
func flatten(trees []tree) flatModel {
	f := flatModel{catFeatures: categoricalFeatures(trees)}
	for i := range trees {
		t := &trees[i]
		if t.linear != nil && f.linear == nil {
			f.linear = make([]*linearLeaves, len(trees))
		}
		if t.linear != nil {
			f.linear[i] = t.linear
		}
		f.leafBase = append(f.leafBase, int32(len(f.leaves)))
		f.roots = append(f.roots, f.add(t, 0, int32(len(f.leaves))))
		f.leaves = append(f.leaves, t.leaves...)
	}
	f.qs = newQuickScorer(&f)
	return f
}

// add appends the subtree of t at child (encoded as in tree: ^leaf for a
// leaf; a single-leaf tree is ^0) and returns its encoded index. leafBase is
// where t's leaves start in f.
func (f *flatModel) add(t *tree, child, leafBase int32) int32 {
	if len(t.nodes) == 0 || child < 0 {
		return ^(leafBase + ^min(child, -1))
	}
	at := int32(len(f.nodes))
	n := &t.nodes[child]
	f.nodes = append(f.nodes, f.split(t, n))
	l := f.add(t, n.left, leafBase)
	r := f.add(t, n.right, leafBase)
	f.nodes[at].child = [2]int32{l, r}
	return at
}

// split is node n of t in flatNode form. A categorical split gets its own
// copy of its words followed by a zero word, where every category beyond
// them looks (see catLeft), and reads its feature's code slot.
func (f *flatModel) split(t *tree, n *node) flatNode {
	fn := flatNode{threshold: n.threshold, feature: (int32(len(f.catFeatures)) + n.feature) * blockRows}
	if n.categorical {
		lo, words := uint64(len(f.cats)), uint64(n.catHi-n.catLo)
		f.cats = append(append(f.cats, t.cats[n.catLo:n.catHi]...), 0)
		fn.threshold, fn.categorical = math.Float64frombits(lo<<32|words), true
		fn.feature = int32(slices.Index(f.catFeatures, n.feature)) * blockRows
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

// categoricalFeatures lists the features categorical splits test, each
// once, in order of first use.
func categoricalFeatures(trees []tree) []int32 {
	var fs []int32
	for i := range trees {
		for _, n := range trees[i].nodes {
			if n.categorical && !slices.Contains(fs, n.feature) {
				fs = append(fs, n.feature)
			}
		}
	}
	return fs
}

// noCategory is the code of a value that is no category: NaN, negative
// (below -1), or beyond int32. Shifted right by 5 it is past any split's
// words, so it reads the zero word.
const noCategory = 1 << 40

// catCode is the code a categorical split looks up for value v, as
// Tree::CategoricalDecision reads it: int(v) (truncated, so -0.5 is 0) for v
// in (-1, 2^31), noCategory otherwise.
func catCode(v float64) float64 {
	c := uint64(noCategory)
	if v > -1 && v < math.MaxInt32+1 {
		c = uint64(int64(v))
	}
	return math.Float64frombits(c)
}

// catLeft is whether a categorical split, its words at cats[lo:lo+words],
// sends category code c left.
func catLeft(c, lo, words uint64, cats []uint32) uint8 {
	return uint8(cats[lo+min(c>>5, words)]>>(c&31)) & 1
}

// b2u is 1 for true; the compiler turns it into a SETcc, no branch.
func b2u(b bool) uint8 {
	var u uint8
	if b {
		u = 1
	}
	return u
}

// next is the child of n that v (zero-snapped, see snap; the catCode for a
// categorical split) goes to: the rules of tree.go's numericalLeft and
// categoryLeft, written without branches on v because a mispredicted branch
// costs more than the arithmetic.
func (n *flatNode) next(v float64, cats []uint32) int32 {
	if n.categorical {
		bits := math.Float64bits(n.threshold)
		return n.child[catLeft(math.Float64bits(v), bits>>32, uint64(uint32(bits)), cats)^1]
	}
	le := b2u(v <= n.threshold) // false for NaN
	z := n.zeroMissing & b2u(v == 0)
	special := b2u(v != v) | z
	return n.child[(le&^z|special&n.specialLeft)^1]
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
	if f.qs != nil && len(f.roots) <= qsRowTrees {
		var masks [qsRowTrees]uint64 // on the stack: a row allocates nothing
		f.qs.addRows([][]float64{x}, out, len(out), masks[:len(f.roots)])
		return
	}
	nodes, cats, k, nc := f.nodes, f.cats, len(out), int32(len(f.catFeatures))
	for t, i := range f.roots {
		for i >= 0 {
			n := &nodes[i]
			j := n.feature / blockRows
			if n.categorical {
				i = n.next(catCode(x[f.catFeatures[j]]), cats)
			} else {
				i = n.next(snap(x[j-nc]), cats)
			}
		}
		if f.linear != nil && f.linear[t] != nil {
			out[t%k] += f.linear[t].output(int(^i-f.leafBase[t]), f.leaves[^i], x, 1, 0)
			continue
		}
		out[t%k] += f.leaves[^i]
	}
}

// qsRowTrees is the most trees addRow runs through QuickScorer, with its
// masks on the stack; larger models walk.
const qsRowTrees = 1024

// blockRows is how many rows walk a tree together: enough independent walks
// to hide each step's latency, few enough that their values stay in L1.
const blockRows = 128

// blockScratch is one goroutine's working memory for addBlock.
type blockScratch struct {
	x      []float64 // the block's codes and values, slot by slot: x[slot*blockRows+r] (see catFeatures)
	idx    [blockRows]int32
	active [blockRows]uint8 // rows not yet at a leaf; blockRows <= 256
	masks  []uint64         // QuickScorer: one word a tree for qsGroup rows
}

// newBlockScratch makes scratch for rows of nf values; addBlock grows x by
// the model's category codes on first use.
func newBlockScratch(nf int) *blockScratch {
	return &blockScratch{x: make([]float64, blockRows*nf)}
}

// load copies rows into s.x: the category codes of catFeatures, then every
// feature's zero-snapped values.
func (f *flatModel) load(rows [][]float64, s *blockScratch) {
	nc := len(f.catFeatures)
	if need := (nc + len(rows[0])) * blockRows; len(s.x) < need {
		s.x = make([]float64, need)
	}
	for r, row := range rows {
		for j, v := range row {
			s.x[(nc+j)*blockRows+r] = snap(v)
		}
		for j, c := range f.catFeatures {
			s.x[j*blockRows+r] = catCode(row[c])
		}
	}
}

// addBlock adds every tree's output for rows (at most blockRows) into out,
// k values a row, in file order for each row. Models that QuickScorer suits
// go through it (quickscorer.go), any number of rows; the others walk: tree
// by tree, every row of the block still on its way takes one step, then the
// next, so the processor overlaps the independent walks, and the tree stays
// in cache.
func (f *flatModel) addBlock(rows [][]float64, out []float64, k int, s *blockScratch) {
	if len(rows) == 0 {
		return
	}
	if f.qs != nil {
		if len(s.masks) < qsGroup*len(f.roots) {
			s.masks = make([]uint64, qsGroup*len(f.roots))
		}
		f.qs.addRows(rows, out, k, s.masks)
		return
	}
	f.load(rows, s)
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
	x = x[len(f.catFeatures)*blockRows:]
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
			bits := math.Float64bits(n.threshold)
			i = n.child[catLeft(math.Float64bits(v), bits>>32, uint64(uint32(bits)), cats)^1]
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
