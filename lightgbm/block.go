package lightgbm

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// block is the key=value lines of one tree.
type block struct {
	index  int // the tree's number
	start  int // line of "Tree=<n>"
	fields map[string]field
}

func (b block) errorf(format string, args ...any) error {
	return lineErrorf(b.start, "tree %d: %s", b.index, fmt.Sprintf(format, args...))
}

func (b block) fieldErrorf(f field, key, format string, args ...any) error {
	return lineErrorf(f.line, "tree %d: %s: %s", b.index, key, fmt.Sprintf(format, args...))
}

// values returns the space-separated values of key, which must number n.
func (b block) values(key string, n int) ([]string, field, error) {
	f, ok := b.fields[key]
	if !ok {
		return nil, f, b.errorf("no %s line", key)
	}
	vs := strings.Fields(f.value)
	if len(vs) != n {
		return nil, f, b.fieldErrorf(f, key, "%d values, want %d", len(vs), n)
	}
	return vs, f, nil
}

func (b block) floats(key string, n int) ([]float64, error) {
	vs, f, err := b.values(key, n)
	if err != nil {
		return nil, err
	}
	out := make([]float64, n)
	for i, v := range vs {
		if out[i], err = strconv.ParseFloat(v, 64); err != nil {
			return nil, b.fieldErrorf(f, key, "value %d, %q, is not a number", i, clip(v))
		}
	}
	return out, nil
}

func (b block) ints(key string, n int) ([]int, error) {
	vs, f, err := b.values(key, n)
	if err != nil {
		return nil, err
	}
	out := make([]int, n)
	for i, v := range vs {
		x, err := strconv.ParseInt(v, 10, 32)
		if err != nil {
			return nil, b.fieldErrorf(f, key, "value %d, %q, is not an integer", i, clip(v))
		}
		out[i] = int(x)
	}
	return out, nil
}

func (b block) int(key string, min int) (int, error) {
	vs, f, err := b.values(key, 1)
	if err != nil {
		return 0, err
	}
	n, err := strconv.Atoi(vs[0])
	if err != nil || n < min {
		return 0, b.fieldErrorf(f, key, "%q is not an integer >= %d", clip(vs[0]), min)
	}
	return n, nil
}

// tree builds and checks the tree, whose splits use features [0, nFeatures).
func (b block) tree(nFeatures int) (tree, error) {
	leaves, err := b.int("num_leaves", 1)
	if err != nil {
		return tree{}, err
	}
	linear, err := b.isLinear()
	if err != nil {
		return tree{}, err
	}
	numCat, err := b.int("num_cat", 0)
	if err != nil {
		return tree{}, err
	}
	t := tree{}
	if t.leaves, err = b.finiteFloats("leaf_value", leaves); err != nil {
		return tree{}, err
	}
	if linear {
		if t.linear, err = b.linearLeaves(leaves, nFeatures); err != nil {
			return tree{}, err
		}
	}
	if leaves == 1 {
		return t, nil
	}
	bounds, cats, err := b.categories(numCat)
	if err != nil {
		return tree{}, err
	}
	t.cats = cats
	if t.nodes, err = b.nodes(leaves-1, nFeatures, bounds); err != nil {
		return tree{}, err
	}
	return t, b.checkShape(t)
}

// splits is the per-node columns of a tree block.
type splits struct {
	feature, decision, left, right []int
	threshold                      []float64
}

func (b block) splits(n int) (s splits, err error) {
	if s.feature, err = b.ints("split_feature", n); err != nil {
		return s, err
	}
	if s.threshold, err = b.floats("threshold", n); err != nil {
		return s, err
	}
	if s.decision, err = b.ints("decision_type", n); err != nil {
		return s, err
	}
	if s.left, err = b.ints("left_child", n); err != nil {
		return s, err
	}
	s.right, err = b.ints("right_child", n)
	return s, err
}

// nodes builds the n internal nodes; bounds is cat_boundaries.
func (b block) nodes(n, nFeatures int, bounds []int) ([]node, error) {
	s, err := b.splits(n)
	if err != nil {
		return nil, err
	}
	nodes := make([]node, n)
	for i := range nodes {
		d := s.decision[i]
		if d < 0 || d > 15 || d>>2 > missingNaN {
			return nil, b.fieldErrorf(b.fields["decision_type"], "decision_type", "value %d, %d, is not a valid decision type", i, d)
		}
		if f := s.feature[i]; f < 0 || f >= nFeatures {
			return nil, b.fieldErrorf(b.fields["split_feature"], "split_feature", "value %d, %d, is not one of the model's %d features", i, f, nFeatures)
		}
		nodes[i] = node{
			threshold: s.threshold[i], feature: int32(s.feature[i]),
			left: int32(s.left[i]), right: int32(s.right[i]),
			categorical: d&maskCategorical != 0, defaultLeft: d&maskDefaultLeft != 0, missing: uint8(d >> 2),
		}
		if nodes[i].categorical {
			if err := b.bitset(&nodes[i], i, bounds); err != nil {
				return nil, err
			}
		}
	}
	return nodes, nil
}

// bitset points a categorical node at its words: its threshold is an index
// into cat_boundaries.
func (b block) bitset(n *node, i int, bounds []int) error {
	numCat := max(len(bounds)-1, 0)
	c := int(n.threshold)
	if float64(c) != n.threshold || c < 0 || c >= numCat {
		return b.fieldErrorf(b.fields["threshold"], "threshold", "value %d, %v, of a categorical split does not name one of the tree's %d category sets", i, n.threshold, numCat)
	}
	n.catLo, n.catHi = int32(bounds[c]), int32(bounds[c+1])
	return nil
}

// categories reads cat_boundaries and cat_threshold: category set c is
// words[bounds[c]:bounds[c+1]].
func (b block) categories(numCat int) (bounds []int, words []uint32, err error) {
	if numCat == 0 {
		return nil, nil, nil
	}
	if bounds, err = b.catBoundaries(numCat); err != nil {
		return nil, nil, err
	}
	vs, f, err := b.values("cat_threshold", bounds[numCat])
	if err != nil {
		return nil, nil, err
	}
	words = make([]uint32, len(vs))
	for i, v := range vs {
		w, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return nil, nil, b.fieldErrorf(f, "cat_threshold", "value %d, %q, is not a 32-bit word", i, clip(v))
		}
		words[i] = uint32(w)
	}
	return bounds, words, nil
}

func (b block) catBoundaries(numCat int) ([]int, error) {
	bounds, err := b.ints("cat_boundaries", numCat+1)
	if err != nil {
		return nil, err
	}
	for i, v := range bounds {
		if (i == 0 && v != 0) || (i > 0 && v < bounds[i-1]) {
			return nil, b.fieldErrorf(b.fields["cat_boundaries"], "cat_boundaries", "must start at 0 and never decrease")
		}
	}
	return bounds, nil
}

// checkShape makes sure every walk from the root ends in a leaf: children
// are in range, the root is nobody's child and nothing has two parents, so
// no walk can loop.
func (b block) checkShape(t tree) error {
	seenNode := make([]bool, len(t.nodes))
	seenLeaf := make([]bool, len(t.leaves))
	seenNode[0] = true // the root
	for i, n := range t.nodes {
		for _, key := range []string{"left_child", "right_child"} {
			c := n.left
			if key == "right_child" {
				c = n.right
			}
			seen, idx := seenNode, int(c)
			if c < 0 {
				seen, idx = seenLeaf, int(^c)
			}
			if idx >= len(seen) {
				return b.fieldErrorf(b.fields[key], key, "node %d has child %d, outside the tree", i, c)
			} else if seen[idx] {
				return b.fieldErrorf(b.fields[key], key, "node %d has child %d, which is the root or has another parent", i, c)
			}
			seen[idx] = true
		}
	}
	return nil
}

// isLinear reads is_linear: 1 for a linear tree (linear_tree=true), 0 or
// absent for an ordinary one.
func (b block) isLinear() (bool, error) {
	f, ok := b.fields["is_linear"]
	if !ok {
		return false, nil
	}
	switch strings.TrimSpace(f.value) {
	case "0":
		return false, nil
	case "1":
		return true, nil
	}
	return false, b.fieldErrorf(f, "is_linear", "%q is neither 0 nor 1", clip(f.value))
}

// linearLeaves reads a linear tree's leaf_const, num_features, leaf_features
// and leaf_coeff: leaf i's model uses the next num_features[i] features and
// coefficients of the flattened lists.
func (b block) linearLeaves(leaves, nFeatures int) (*linearLeaves, error) {
	l := &linearLeaves{start: make([]int32, leaves+1)}
	var err error
	if l.consts, err = b.finiteFloats("leaf_const", leaves); err != nil {
		return nil, err
	}
	counts, err := b.ints("num_features", leaves)
	if err != nil {
		return nil, err
	}
	total := 0
	for i, c := range counts {
		if c < 0 || c > nFeatures {
			return nil, b.fieldErrorf(b.fields["num_features"], "num_features", "value %d, %d, is not a count of the model's %d features", i, c, nFeatures)
		}
		total += c
		l.start[i+1] = int32(total)
	}
	features, err := b.ints("leaf_features", total)
	if err != nil {
		return nil, err
	}
	for i, f := range features {
		if f < 0 || f >= nFeatures {
			return nil, b.fieldErrorf(b.fields["leaf_features"], "leaf_features", "value %d, %d, is not one of the model's %d features", i, f, nFeatures)
		}
		l.features = append(l.features, int32(f))
	}
	if l.coeffs, err = b.finiteFloats("leaf_coeff", total); err != nil {
		return nil, err
	}
	return l, nil
}

// finiteFloats is floats, refusing nan and inf, which no trained tree holds.
func (b block) finiteFloats(key string, n int) ([]float64, error) {
	vs, err := b.floats(key, n)
	if err != nil {
		return nil, err
	}
	for i, v := range vs {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, b.fieldErrorf(b.fields[key], key, "value %d, %v, is not a finite number", i, v)
		}
	}
	return vs, nil
}
