package xgboost

import (
	"fmt"
	"strconv"
)

// tree is one regression tree in XGBoost's array layout. value holds the
// split condition of a split node and the leaf value of a leaf: XGBoost
// keeps both in one union and saves both as split_conditions.
type tree struct {
	left        []int32 // -1 for a leaf
	right       []int32 // always left+1 for a split node (checked on load)
	feature     []int32
	value       []float32
	defaultLeft []bool     // where a missing (NaN) value goes
	cats        [][]uint32 // categories that go right, as a bitset; nil for numerical nodes
}

// leaf walks the tree for one row as XGBoost's GetNextNode does: NaN takes
// the default branch; a categorical split sends a category in its set
// right and everything else (negative, too large, not in the set) left; a
// numerical split goes left iff fvalue < split_condition, in float32.
func (t *tree) leaf(x []float32) float32 {
	i := int32(0)
	for t.left[i] != -1 {
		v := x[t.feature[i]]
		switch {
		case v != v: // NaN
			if t.defaultLeft[i] {
				i = t.left[i]
			} else {
				i = t.right[i]
			}
		case t.cats != nil && t.cats[i] != nil:
			if categoryLeft(t.cats[i], v) {
				i = t.left[i]
			} else {
				i = t.left[i] + 1
			}
		case v < t.value[i]:
			i = t.left[i]
		default:
			i = t.left[i] + 1
		}
	}
	return t.value[i]
}

// maxCategory is XGBoost's OutOfRangeCat, 2^24: categories from it up
// cannot be told apart in float32 and always go left.
const maxCategory = 1 << 24

// categoryLeft is XGBoost's common::Decision: the category is the value
// truncated to an integer.
func categoryLeft(bits []uint32, v float32) bool {
	if v < 0 || v >= maxCategory {
		return true
	}
	c := uint32(v)
	if int(c/32) >= len(bits) {
		return true
	}
	return bits[c/32]&(1<<(c%32)) == 0
}

// read reads one tree object (tree_model.cc RegTree::LoadModel) and checks
// that every walk ends at a leaf.
func (t *tree) read(v any, numFeature int) error {
	obj, err := object(v, "tree")
	if err != nil {
		return err
	}
	param, err := field(obj, "tree_param", "tree")
	if err != nil {
		return err
	}
	if leafSize, err := intString(param, "size_leaf_vector", "tree_param", 1); err != nil {
		return err
	} else if leafSize > 1 {
		return unsupported(invalidf("the XGBoost model has vector-leaf trees (multi_strategy=multi_output_tree, %d values per leaf), which are not supported natively", leafSize),
			"train with multi_strategy=one_output_per_tree, or "+scoringServerHint)
	}
	n, err := intString(param, "num_nodes", "tree_param", 0)
	if err != nil {
		return err
	} else if n < 1 {
		return fmt.Errorf("tree_param.num_nodes is %d", n)
	}
	if err := t.readNodes(obj, n); err != nil {
		return err
	}
	if _, ok := obj["split_type"]; ok {
		if err := t.readCategories(obj); err != nil {
			return err
		}
	}
	return t.check(numFeature)
}

func (t *tree) readNodes(obj map[string]any, n int) error {
	left, err := int32s(obj, "left_children", n)
	if err != nil {
		return err
	}
	right, err := int32s(obj, "right_children", n)
	if err != nil {
		return err
	}
	feature, err := int32s(obj, "split_indices", n)
	if err != nil {
		return err
	}
	value, err := floats32(obj["split_conditions"], "split_conditions")
	if err != nil {
		return err
	} else if len(value) != n {
		return fmt.Errorf("split_conditions has %d values for %d nodes", len(value), n)
	}
	dl, err := int32s(obj, "default_left", n)
	if err != nil {
		return err
	}
	t.left, t.right, t.feature, t.value = left, right, feature, value
	t.defaultLeft = make([]bool, n)
	for i, d := range dl {
		t.defaultLeft[i] = d != 0
	}
	return nil
}

func int32s(obj map[string]any, key string, n int) ([]int32, error) {
	a, err := ints(obj[key], key)
	if err != nil {
		return nil, err
	}
	if len(a) != n {
		return nil, fmt.Errorf("%s has %d values for %d nodes", key, len(a), n)
	}
	out := make([]int32, n)
	for i, x := range a {
		if x != int64(int32(x)) {
			return nil, fmt.Errorf("%s[%d] is %d, out of range", key, i, x)
		}
		out[i] = int32(x)
	}
	return out, nil
}

// readCategories reads split_type and the category lists of the
// categorical nodes (RegTree::LoadCategoricalSplit).
func (t *tree) readCategories(obj map[string]any) error {
	n := len(t.left)
	splitType, err := int32s(obj, "split_type", n)
	if err != nil {
		return err
	}
	nodes, err := ints(obj["categories_nodes"], "categories_nodes")
	if err != nil {
		return err
	}
	segments, err := ints(obj["categories_segments"], "categories_segments")
	if err != nil {
		return err
	}
	sizes, err := ints(obj["categories_sizes"], "categories_sizes")
	if err != nil {
		return err
	}
	cats, err := ints(obj["categories"], "categories")
	if err != nil {
		return err
	}
	if len(segments) != len(nodes) || len(sizes) != len(nodes) {
		return fmt.Errorf("categories_nodes, categories_segments and categories_sizes differ in length (%d, %d, %d)", len(nodes), len(segments), len(sizes))
	}
	t.cats = make([][]uint32, n)
	for j, node := range nodes {
		if node < 0 || node >= int64(n) || splitType[node] != 1 {
			return fmt.Errorf("categories_nodes[%d] is %d, not a categorical split node", j, node)
		}
		begin, size := segments[j], sizes[j]
		if size < 1 || begin < 0 || begin > int64(len(cats))-size {
			return fmt.Errorf("node %d: categories segment [%d, +%d) is outside the %d categories", node, begin, size, len(cats))
		}
		if t.cats[node], err = bitset(cats[begin : begin+size]); err != nil {
			return fmt.Errorf("node %d: %w", node, err)
		}
	}
	for i, st := range splitType {
		if st == 1 && t.left[i] != -1 && t.cats[i] == nil {
			return fmt.Errorf("node %d is a categorical split with no categories", i)
		}
	}
	return nil
}

func bitset(cats []int64) ([]uint32, error) {
	maxCat := int64(0)
	for _, c := range cats {
		if c < 0 || c >= maxCategory {
			return nil, fmt.Errorf("category %d is outside 0..%d", c, maxCategory-1)
		}
		maxCat = max(maxCat, c)
	}
	bits := make([]uint32, maxCat/32+1)
	for _, c := range cats {
		bits[c/32] |= 1 << (c % 32)
	}
	return bits, nil
}

// check makes sure every walk from the root ends at a leaf: split nodes
// name a feature of the model and two children, right = left + 1 (the
// predictor takes left+1 for the right branch), and no node is reached
// twice.
func (t *tree) check(numFeature int) error {
	n := int32(len(t.left))
	seen := make([]bool, n)
	stack := []int32{0}
	for len(stack) > 0 {
		i := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[i] {
			return fmt.Errorf("node %d is reached twice", i)
		}
		seen[i] = true
		if t.left[i] == -1 {
			continue
		}
		l, r, f := t.left[i], t.right[i], t.feature[i]
		switch {
		case l <= 0 || l >= n || r != l+1 || r >= n:
			return fmt.Errorf("node %d has children %d and %d; want right = left + 1 within %d nodes", i, l, r, n)
		case f < 0 || int(f) >= numFeature:
			return fmt.Errorf("node %d splits on feature %d; the model has %s", i, f, strconv.Itoa(numFeature)+" features")
		}
		stack = append(stack, l, r)
	}
	return nil
}
