package lightgbm

import (
	"cmp"
	"math"
	"math/bits"
	"slices"
	"sort"
)

// QuickScorer (Lucchese et al., SIGIR 2015) finds every tree's exit leaf
// without walking: number a tree's leaves left to right, give each split a
// mask of the leaves that stay possible when it goes right (all but its left
// subtree's), AND into a tree's mask every split a row sends right, and the
// exit leaf is the lowest bit left. For a numerical feature and an ordinary
// value v the splits going right are those with threshold < v, a prefix of
// the feature's splits sorted by threshold, found by binary search; rows of
// prefix ANDs every few thresholds (qsFeature) cut the scan short. Category
// codes, 0 and NaN take tables and lists computed once, here, with the flat
// walk's own decision (flatNode.next), so both ways agree split by split.
// Sums are then added in file order, as the walk does: results are
// bit-identical. The work is a few thousand independent ANDs a row instead
// of a chain of dependent loads and branches, some mispredicted, a tree.

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
// and those that send 0 and NaN right. A value's prefix of sorted splits
// can be long (half of them on average), so every `every` distinct
// thresholds a table row holds each tree's AND over the prefix so far: a
// row then costs one AND per tree of the feature plus fewer than `every`
// thresholds' splits.
type qsFeature struct {
	feature             int
	sorted              qsSplits
	zeroRight, nanRight qsSplits
	distinct            []float64 // the thresholds, ascending, each once
	start               []int32   // sorted[start[d]:] begins at distinct[d]; start[len(distinct)] = len(sorted)
	every               int       // table row c covers distinct[:c*every]; 0: no table
	trees               []int32   // the trees with splits on the feature, ascending
	table               []uint64  // row c: one mask per tree in trees
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

// newQuickScorer is f in QuickScorer form when that is possible and likely
// faster than the walk (cheaper), else nil.
func newQuickScorer(f *flatModel) *quickScorer {
	b := planQuickScorer(f)
	if b == nil || !b.cheaper() {
		return nil
	}
	return b.build()
}

// buildQuickScorer is f in QuickScorer form whatever the cost, or nil when
// it does not fit (planQuickScorer).
func buildQuickScorer(f *flatModel) *quickScorer {
	b := planQuickScorer(f)
	if b == nil {
		return nil
	}
	return b.build()
}

// planQuickScorer files f's splits by feature, sorted, and sizes the
// tables; nil when f has linear trees, a tree of more than 64 leaves, a NaN
// threshold, or categorical tables too large.
func planQuickScorer(f *flatModel) *qsBuilder {
	if f.linear != nil || len(f.roots) == 0 { // Parse refuses a model without trees anyway
		return nil
	}
	q := &quickScorer{}
	b := &qsBuilder{f: f, q: q, num: map[int]*qsFeature{}, cat: map[int]*qsCatBuild{}}
	for t, root := range f.roots {
		q.base = append(q.base, int32(len(q.leaves)))
		if !b.tree(int32(t), root) {
			return nil
		}
	}
	if !b.plan() {
		return nil
	}
	return b
}

// cheaper guesses whether QuickScorer beats the walk. A row costs
// QuickScorer an AND per split it sends right (rowCost) or table entry, one
// per tree of each categorical feature and one addition per tree; it costs
// the walk one step a level. A step took 3.3 ANDs' time on a 500-tree,
// 63-leaf numerical model and 7 on the demand-forecast model, whose
// categorical splits make branches mispredict, so QuickScorer is taken when
// it needs at most 3 ANDs a step. The depth is the unweighted mean over a
// tree's leaves: the model does not say how rows spread.
func (b *qsBuilder) cheaper() bool {
	ands := float64(len(b.f.roots))
	for _, c := range b.cat {
		ands += float64(len(c.trees))
	}
	for _, s := range b.num {
		ands += s.rowCost()
	}
	steps := 0.0
	for _, root := range b.f.roots {
		sum, leaves := b.f.leafDepths(root, 0)
		steps += float64(sum) / float64(leaves)
	}
	return ands <= 3*steps
}

// leafDepths returns the sum of the depths of the leaves under i, at depth
// d, and their number.
func (f *flatModel) leafDepths(i int32, d int) (sum, leaves int) {
	if i < 0 {
		return d, 1
	}
	n := &f.nodes[i]
	ls, ll := f.leafDepths(n.child[0], d+1)
	rs, rl := f.leafDepths(n.child[1], d+1)
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

// split files split n of tree t with its mask; false for a NaN threshold,
// which no sorted order can hold.
func (b *qsBuilder) split(t int32, n *flatNode, mask uint64) bool {
	slot := n.feature / blockRows
	if n.categorical {
		b.catSplit(int(b.f.catFeatures[slot]), t, n, mask)
		return true
	}
	if n.threshold != n.threshold {
		return false
	}
	feature := int(slot) - len(b.f.catFeatures)
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
		s.nanRight.add(0, t, mask)
	}
	return true
}

// catSplit files categorical split n of tree t, on feature, with its mask.
func (b *qsBuilder) catSplit(feature int, t int32, n *flatNode, mask uint64) {
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
}

// plan sorts the numerical splits and sizes every table within the bound
// (qsMaxTableWords, qsTableWordsPerSplit); false if the categorical tables
// alone exceed it.
func (b *qsBuilder) plan() bool {
	bound := qsMaxTableWords + qsTableWordsPerSplit*len(b.f.nodes)
	for _, c := range b.cat {
		bound -= int(32*c.words+1) * len(c.trees)
		if bound < 0 {
			return false
		}
	}
	numSplits := 0
	for _, s := range b.num {
		numSplits += len(s.sorted.tree)
	}
	for _, s := range b.num {
		// The numerical tables share what the categorical ones left, in
		// proportion to their splits.
		s.plan(bound * len(s.sorted.tree) / numSplits)
	}
	return true
}

// build fills the tables planned.
func (b *qsBuilder) build() *quickScorer {
	q := b.q
	for _, feature := range b.catOrder {
		c := b.cat[feature]
		q.cat = append(q.cat, c.table(feature, 32*c.words, b.f.cats))
	}
	for _, feature := range b.numOrder {
		s := b.num[feature]
		if s.every > 0 {
			s.fillTable()
		}
		q.num = append(q.num, *s)
	}
	return q
}

// qsTableWordsPerSplit and qsMaxTableWords bound the tables to so many
// words a split of the model plus a constant, so that a small model cannot
// make Parse allocate much.
const (
	qsTableWordsPerSplit = 16
	qsMaxTableWords      = 4096
)

// plan sorts the splits, fills distinct, start and trees, and picks the
// table with the fewest thresholds between rows that fits in budget words,
// if one pays: a row costs an AND per tree, so not when there are more
// trees than half the splits (the scan's average).
func (s *qsFeature) plan(budget int) {
	sortSplits(&s.sorted)
	s.zeroRight.threshold, s.nanRight.threshold = nil, nil
	th := s.sorted.threshold
	for i, t := range th {
		if i == 0 || t != th[i-1] {
			s.distinct = append(s.distinct, t)
			s.start = append(s.start, int32(i))
		}
	}
	s.start = append(s.start, int32(len(th)))
	s.trees = slices.Clone(s.sorted.tree)
	slices.Sort(s.trees)
	s.trees = slices.Compact(s.trees)
	nt, nd := len(s.trees), len(s.distinct)
	if 2*nt >= len(th) || budget < 2*nt {
		s.trees = nil
		return
	}
	s.every = 1
	for (nd/s.every+1)*nt > budget {
		s.every++
	}
}

// rowCost is how many ANDs a row's value costs on average: a table row and
// half the splits between two rows, or half the splits.
func (s *qsFeature) rowCost() float64 {
	if s.every == 0 {
		return float64(len(s.sorted.tree)) / 2
	}
	perThreshold := float64(len(s.sorted.tree)) / float64(len(s.distinct))
	return float64(len(s.trees)) + float64(s.every-1)/2*perThreshold
}

// fillTable computes the table rows: row c is row c-1 ANDed with the
// splits of distinct thresholds [(c-1)*every, c*every).
func (s *qsFeature) fillTable() {
	nt := len(s.trees)
	rows := len(s.distinct)/s.every + 1
	s.table = make([]uint64, rows*nt)
	pos := make([]int32, s.trees[nt-1]+1) // tree → its column
	for i, t := range s.trees {
		pos[t] = int32(i)
	}
	for i := range s.table[:nt] {
		s.table[i] = ^uint64(0)
	}
	for c := 1; c < rows; c++ {
		row := s.table[c*nt : (c+1)*nt]
		copy(row, s.table[(c-1)*nt:c*nt])
		for i := s.start[(c-1)*s.every]; i < s.start[c*s.every]; i++ {
			row[pos[s.sorted.tree[i]]] &= s.sorted.mask[i]
		}
	}
}

// sortSplits orders s by threshold, then tree and mask, so that the order
// does not depend on the sort.
func sortSplits(s *qsSplits) {
	type split struct {
		threshold float64
		tree      int32
		mask      uint64
	}
	all := make([]split, len(s.tree))
	for i := range all {
		all[i] = split{s.threshold[i], s.tree[i], s.mask[i]}
	}
	slices.SortFunc(all, func(a, b split) int {
		return cmp.Or(cmp.Compare(a.threshold, b.threshold), cmp.Compare(a.tree, b.tree), cmp.Compare(a.mask, b.mask))
	})
	for i, x := range all {
		s.threshold[i], s.tree[i], s.mask[i] = x.threshold, x.tree, x.mask
	}
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

// qsGroup is how many rows' masks addRows keeps before summing: a row's
// sum is a chain of dependent additions (file order, for bit-identical
// results), so four rows are summed side by side to overlap their chains.
const qsGroup = 4

// addRows adds every tree's output for each row into out, k values a row,
// in file order for each row; masks is scratch of one word a tree for up to
// qsGroup rows (at least one).
func (q *quickScorer) addRows(rows [][]float64, out []float64, k int, masks []uint64) {
	nt := len(q.base)
	g := min(qsGroup, len(masks)/nt)
	for lo := 0; lo < len(rows); lo += g {
		n := min(g, len(rows)-lo)
		for j := range n {
			q.exits(rows[lo+j], masks[j*nt:(j+1)*nt])
		}
		if k == 1 && n == qsGroup {
			q.sum4(masks[:qsGroup*nt], out[lo:lo+qsGroup])
			continue
		}
		for j := range n {
			q.sum(masks[j*nt:(j+1)*nt], out[(lo+j)*k:(lo+j+1)*k])
		}
	}
}

// exits sets masks (one a tree) to the leaves row may exit at: the lowest
// bit of each is its exit leaf.
func (q *quickScorer) exits(row []float64, masks []uint64) {
	for i := range masks {
		masks[i] = ^uint64(0)
	}
	for i := range q.num {
		q.num[i].apply(snap(row[q.num[i].feature]), masks)
	}
	for i := range q.cat {
		q.cat[i].apply(catCode(row[q.cat[i].feature]), masks)
	}
}

// sum adds the exit leaves of masks (one a tree) into o, tree t into
// o[t%len(o)], in file order.
func (q *quickScorer) sum(masks []uint64, o []float64) {
	j := 0
	for t, m := range masks {
		o[j] += q.leaves[int(q.base[t])+bits.TrailingZeros64(m)]
		if j++; j == len(o) {
			j = 0
		}
	}
}

// sum4 is sum for four single-output rows, their masks one after another.
func (q *quickScorer) sum4(masks []uint64, o []float64) {
	nt := len(q.base)
	m0, m1, m2, m3 := masks[:nt], masks[nt:2*nt], masks[2*nt:3*nt], masks[3*nt:4*nt]
	s0, s1, s2, s3 := o[0], o[1], o[2], o[3]
	leaves := q.leaves
	for t, b := range q.base {
		s0 += leaves[int(b)+bits.TrailingZeros64(m0[t])]
		s1 += leaves[int(b)+bits.TrailingZeros64(m1[t])]
		s2 += leaves[int(b)+bits.TrailingZeros64(m2[t])]
		s3 += leaves[int(b)+bits.TrailingZeros64(m3[t])]
	}
	o[0], o[1], o[2], o[3] = s0, s1, s2, s3
}

// apply ANDs into masks the splits of s that send v (zero-snapped) right.
func (s *qsFeature) apply(v float64, masks []uint64) {
	switch {
	case v != v:
		s.nanRight.and(len(s.nanRight.tree), masks)
	case v == 0:
		s.zeroRight.and(len(s.zeroRight.tree), masks)
	default:
		// The splits with threshold < v: those of distinct[:d].
		d := sort.SearchFloat64s(s.distinct, v)
		from := 0
		if s.every > 0 {
			c := d / s.every
			from = c * s.every
			nt := len(s.trees)
			row := s.table[c*nt : (c+1)*nt]
			for i, t := range s.trees {
				masks[t] &= row[i]
			}
		}
		s.sorted.andRange(int(s.start[from]), int(s.start[d]), masks)
	}
}

// and ANDs the first n splits of s into masks.
func (s *qsSplits) and(n int, masks []uint64) {
	s.andRange(0, n, masks)
}

// andRange ANDs splits [lo, hi) of s into masks.
func (s *qsSplits) andRange(lo, hi int, masks []uint64) {
	tree, mask := s.tree[lo:hi], s.mask[lo:hi]
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
