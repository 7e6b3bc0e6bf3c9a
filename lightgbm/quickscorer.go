package lightgbm

import (
	"math"
	"math/bits"
	"slices"
)

// QuickScorer (Lucchese et al., SIGIR 2015) finds every tree's exit leaf
// without walking: number a tree's leaves left to right, give each split a
// mask of the leaves that stay possible when it goes right (all but its left
// subtree's), AND into a tree's mask every split a row sends right, and the
// exit leaf is the lowest bit left. For a numerical feature and an ordinary
// value v the splits going right are those with threshold < v, a prefix of
// the feature's splits sorted by threshold, so a row's cost is a scan, not
// a chain of dependent loads and branches. Category codes, 0 and NaN take
// tables and lists computed once, here, with the flat walk's own decision
// (flatNode.next), so both ways agree split by split. Sums are then added in
// file order, as the walk does: results are bit-identical.

// qsMaxTableWords bounds the categorical tables to a multiple of the model's
// size, so that a small model cannot make Parse allocate much.
const qsMaxTableWords = 4096

// quickScorer is a flatModel's trees in QuickScorer form; trees of at most
// 64 leaves only, no linear trees.
type quickScorer struct {
	// leaves[base[t]+p] is the value of tree t's leaf at position p, left to
	// right.
	leaves []float64
	base   []int32
	num    []qsFeature
	cat    []qsCategorical
}

// qsSplits are splits in QuickScorer form: tree t's mask &= mask[i].
type qsSplits struct {
	threshold []float64 // numerical splits, ascending; nil in lists
	tree      []int32
	mask      []uint64
}

func (s *qsSplits) add(th float64, t int32, mask uint64) {
	s.threshold = append(s.threshold, th)
	s.tree = append(s.tree, t)
	s.mask = append(s.mask, mask)
}

// qsFeature is the numerical splits of one feature: sorted by threshold,
// and those that send 0 and NaN right.
type qsFeature struct {
	feature         int
	sorted          qsSplits
	zeroRight, nanR qsSplits
}

// qsCategorical is the categorical splits of one feature, as a table: row c
// holds, for each tree in trees, the AND of the masks of its splits that
// send category code c right; row codes (the last) is for codes >= codes.
type qsCategorical struct {
	feature int
	codes   uint64
	trees   []int32
	table   []uint64
}

// newQuickScorer is f in QuickScorer form when that is likely faster than
// the walk (qsCheaper) and possible (buildQuickScorer), else nil.
func newQuickScorer(f *flatModel) *quickScorer {
	if !qsCheaper(f) {
		return nil
	}
	return buildQuickScorer(f)
}

// buildQuickScorer is f in QuickScorer form, or nil when f has linear trees,
// a tree of more than 64 leaves, a NaN threshold, or categorical tables too
// large.
func buildQuickScorer(f *flatModel) *quickScorer {
	if f.linear != nil {
		return nil
	}
	q := &quickScorer{}
	b := qsBuilder{f: f, q: q, num: map[int]*qsFeature{}, cat: map[int]*qsCatBuild{}}
	for t, root := range f.roots {
		q.base = append(q.base, int32(len(q.leaves)))
		if !b.tree(int32(t), root) {
			return nil
		}
	}
	return b.finish()
}

// qsCheaper guesses whether QuickScorer beats the walk on f. A row costs
// QuickScorer about one AND for half the numerical splits (those below its
// value), one a tree per categorical feature and one a tree to sum; it costs
// the walk one step a level, and a step takes about three times as long as
// an AND (measured: 3 on a 500-tree, 63-leaf numerical model, 4 on the
// demand-forecast model, whose categorical splits the branch predictor
// cannot learn). The depth is the unweighted mean over a tree's leaves, as
// the model does not say how rows spread.
func qsCheaper(f *flatModel) bool {
	ands := float64(len(f.roots))
	catTrees := map[[2]int32]bool{}
	for _, n := range f.nodes {
		if !n.categorical {
			ands += 0.5
		}
	}
	steps := 0.0
	for t, root := range f.roots {
		sum, leaves := f.leafDepths(root, 0, int32(t), catTrees)
		steps += float64(sum) / float64(leaves)
	}
	ands += float64(len(catTrees))
	return ands <= 3*steps
}

// leafDepths returns the sum of the depths of the leaves under i, at depth
// d, and their number; it records in catTrees each (tree, categorical
// feature slot) pair it meets.
func (f *flatModel) leafDepths(i int32, d int, t int32, catTrees map[[2]int32]bool) (sum, leaves int) {
	if i < 0 {
		return d, 1
	}
	n := &f.nodes[i]
	if n.categorical {
		catTrees[[2]int32{t, n.feature}] = true
	}
	ls, ll := f.leafDepths(n.child[0], d+1, t, catTrees)
	rs, rl := f.leafDepths(n.child[1], d+1, t, catTrees)
	return ls + rs, ll + rl
}

// qsCatBuild gathers one categorical feature's splits.
type qsCatBuild struct {
	words uint64 // the most words of any of its splits
	trees []int32
	nodes [][]qsCatNode // per tree in trees
}

type qsCatNode struct {
	node *flatNode
	mask uint64
}

type qsBuilder struct {
	f        *flatModel
	q        *quickScorer
	num      map[int]*qsFeature
	cat      map[int]*qsCatBuild
	numOrder []int // features in order of first use, so the result is deterministic
	catOrder []int
}

// tree adds tree t rooted at root; false if it does not fit.
func (b *qsBuilder) tree(t, root int32) bool {
	leaves := 0
	ok := true
	var walk func(i int32) int // returns the number of leaves under i
	walk = func(i int32) int {
		if i < 0 {
			b.q.leaves = append(b.q.leaves, b.f.leaves[^i])
			leaves++
			return 1
		}
		first := leaves
		n := &b.f.nodes[i]
		nl := walk(n.child[0])
		if leaves > 64 {
			ok = false
			return 0
		}
		mask := ^((uint64(1)<<nl - 1) << first)
		ok = ok && b.split(t, n, mask)
		return nl + walk(n.child[1])
	}
	walk(root)
	return ok && leaves <= 64
}

// split files split n of tree t with its mask.
func (b *qsBuilder) split(t int32, n *flatNode, mask uint64) bool {
	nc := int32(len(b.f.catFeatures))
	slot := n.feature / blockRows
	if n.categorical {
		feature := int(b.f.catFeatures[slot])
		c := b.cat[feature]
		if c == nil {
			c = &qsCatBuild{}
			b.cat[feature] = c
			b.catOrder = append(b.catOrder, feature)
		}
		if len(c.trees) == 0 || c.trees[len(c.trees)-1] != t {
			c.trees, c.nodes = append(c.trees, t), append(c.nodes, nil)
		}
		c.nodes[len(c.nodes)-1] = append(c.nodes[len(c.nodes)-1], qsCatNode{n, mask})
		c.words = max(c.words, uint64(uint32(math.Float64bits(n.threshold))))
		return true
	}
	if n.threshold != n.threshold {
		return false
	}
	feature := int(slot - nc)
	s := b.num[feature]
	if s == nil {
		s = &qsFeature{feature: feature}
		b.num[feature] = s
		b.numOrder = append(b.numOrder, feature)
	}
	s.sorted.add(n.threshold, t, mask)
	if n.next(0, b.f.cats) == n.child[1] {
		s.zeroRight.add(0, t, mask)
	}
	if n.next(math.NaN(), b.f.cats) == n.child[1] {
		s.nanR.add(0, t, mask)
	}
	return true
}

// finish sorts the numerical splits and builds the categorical tables.
func (b *qsBuilder) finish() *quickScorer {
	q := b.q
	for _, feature := range b.numOrder {
		s := b.num[feature]
		sortSplits(&s.sorted)
		s.zeroRight.threshold, s.nanR.threshold = nil, nil
		q.num = append(q.num, *s)
	}
	size := 0
	for _, feature := range b.catOrder {
		c := b.cat[feature]
		codes := 32 * c.words
		size += int(codes+1) * len(c.trees)
		if size > qsMaxTableWords+8*len(b.f.nodes) {
			return nil
		}
		q.cat = append(q.cat, c.table(feature, codes, b.f.cats))
	}
	return q
}

// sortSplits orders s by threshold.
func sortSplits(s *qsSplits) {
	order := make([]int, len(s.threshold))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		switch {
		case s.threshold[a] < s.threshold[b]:
			return -1
		case s.threshold[a] > s.threshold[b]:
			return 1
		}
		return 0
	})
	var out qsSplits
	for _, i := range order {
		out.add(s.threshold[i], s.tree[i], s.mask[i])
	}
	*s = out
}

// table is the feature's lookup table over codes 0..codes, the last row
// standing for every code from codes on and for no category at all.
func (c *qsCatBuild) table(feature int, codes uint64, cats []uint32) qsCategorical {
	tab := qsCategorical{feature: feature, codes: codes, trees: c.trees, table: make([]uint64, int(codes+1)*len(c.trees))}
	for code := uint64(0); code <= codes; code++ {
		v := math.Float64frombits(code)
		if code == codes {
			v = math.Float64frombits(noCategory)
		}
		row := tab.table[int(code)*len(c.trees):]
		for ti, nodes := range c.nodes {
			m := ^uint64(0)
			for _, cn := range nodes {
				if cn.node.next(v, cats) == cn.node.child[1] {
					m &= cn.mask
				}
			}
			row[ti] = m
		}
	}
	return tab
}

// addRows adds every tree's output for each row into out, k values a row,
// in file order for each row; masks is scratch of one word a tree.
func (q *quickScorer) addRows(rows [][]float64, out []float64, k int, masks []uint64) {
	for r, row := range rows {
		for i := range masks {
			masks[i] = ^uint64(0)
		}
		for i := range q.num {
			q.num[i].apply(snap(row[q.num[i].feature]), masks)
		}
		for i := range q.cat {
			q.cat[i].apply(catCode(row[q.cat[i].feature]), masks)
		}
		o := out[r*k : r*k+k]
		for t, m := range masks {
			o[t%k] += q.leaves[int(q.base[t])+bits.TrailingZeros64(m)]
		}
	}
}

// apply ANDs into masks the splits of s that send v (zero-snapped) right.
func (s *qsFeature) apply(v float64, masks []uint64) {
	switch {
	case v != v:
		s.nanR.and(len(s.nanR.tree), masks)
	case v == 0:
		s.zeroRight.and(len(s.zeroRight.tree), masks)
	default:
		th := s.sorted.threshold
		n := 0
		for n < len(th) && th[n] < v {
			n++
		}
		s.sorted.and(n, masks)
	}
}

// and ANDs the first n splits of s into masks.
func (s *qsSplits) and(n int, masks []uint64) {
	tree, mask := s.tree[:n], s.mask[:n]
	for i, t := range tree {
		masks[t] &= mask[i]
	}
}

// apply ANDs into masks the row of category code c (a catCode).
func (c *qsCategorical) apply(code float64, masks []uint64) {
	row := min(math.Float64bits(code), c.codes) * uint64(len(c.trees))
	tab := c.table[row : row+uint64(len(c.trees))]
	for i, t := range c.trees {
		masks[t] &= tab[i]
	}
}
