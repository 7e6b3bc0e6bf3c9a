package mlmodel

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
)

// category maps the values of one pandas "category" column to the codes
// LightGBM's Python predict feeds the trees: a value's index in the list
// the booster recorded at training (its pandas_categorical trailer), found
// with pandas' equality, and missing (NaN) for a value not in the list.
// Values match categories of their own JSON type, as in a pandas column of
// one type: numbers by value (2 == 2.0), strings exactly ("2" != 2), bools
// only bools (a bool column never matches int categories); null is missing.
// (A pandas object column mixing types would also match True with 1; a
// request's fields are typed per value, so the typed rule is the one kept.)
// Written by hand:
// no Go library reproduces pandas' category recoding.
type category struct {
	feature int    // the booster's feature index
	name    string // the booster's feature name
	strs    map[string]float64
	nums    map[float64]float64
	bools   map[bool]float64
}

// code is the category code of the request value v as a feature value:
// a float64 code, or nil (missing) for null and unseen values. A value of
// another JSON type (an object, an array) is returned as is, for the
// number conversion to refuse with its usual message.
func (c *category) code(v any) any {
	switch x := v.(type) {
	case nil:
		return nil
	case string:
		code, ok := c.strs[x]
		return found(code, ok)
	case bool:
		code, ok := c.bools[x]
		return found(code, ok)
	case float64:
		return c.number(x)
	case json.Number:
		f, err := strconv.ParseFloat(string(x), 64)
		if err != nil {
			return nil
		}
		return c.number(f)
	case int:
		return c.number(float64(x))
	case int64:
		return c.number(float64(x))
	case float32:
		return c.number(float64(x))
	}
	return v
}

func (c *category) number(f float64) any {
	code, ok := c.nums[f]
	return found(code, ok)
}

func found(code float64, ok bool) any {
	if !ok {
		return nil
	}
	return code
}

// parseCategories reads the pandas_categorical lists (their JSON text) and
// pairs them with the booster's categorical features, read from the
// parameters section of the model file at path ([categorical_feature:
// 1,3]): LightGBM's Python package makes every unordered category column
// categorical, in column order, and records the lists in the same order.
// An ordered category column (coded, but not categorical) or an explicit
// categorical_feature list breaks that pairing; then the counts differ and
// the model is refused rather than guessed at.
func parseCategories(path, pandasJSON string, names []string) ([]category, error) {
	var lists [][]any
	dec := json.NewDecoder(strings.NewReader(pandasJSON))
	dec.UseNumber()
	if err := dec.Decode(&lists); err != nil {
		return nil, fmt.Errorf("pandas_categorical %s is not a JSON list of lists: %v", clip(pandasJSON), err)
	}
	features, err := categoricalFeatures(path, len(names))
	if err != nil {
		return nil, err
	}
	if len(features) != len(lists) {
		return nil, fmt.Errorf("the booster has %d pandas_categorical lists but %d categorical features (categorical_feature %v); "+
			"cannot tell which features they code (ordered category columns and an explicit categorical_feature are not supported)",
			len(lists), len(features), features)
	}
	cats := make([]category, len(lists))
	for i, values := range lists {
		c, err := newCategory(features[i], names[features[i]], values)
		if err != nil {
			return nil, err
		}
		cats[i] = c
	}
	return cats, nil
}

// newCategory indexes the category values of one feature.
func newCategory(feature int, name string, values []any) (category, error) {
	c := category{feature: feature, name: name}
	for code, v := range values {
		switch x := v.(type) {
		case string:
			if c.strs == nil {
				c.strs = map[string]float64{}
			}
			if _, dup := c.strs[x]; !dup {
				c.strs[x] = float64(code)
			}
		case bool:
			if c.bools == nil {
				c.bools = map[bool]float64{}
			}
			if _, dup := c.bools[x]; !dup {
				c.bools[x] = float64(code)
			}
		case json.Number:
			f, err := strconv.ParseFloat(string(x), 64)
			if err != nil {
				return c, fmt.Errorf("feature %q: category %s is not a number LightGBM can code", name, x)
			}
			if c.nums == nil {
				c.nums = map[float64]float64{}
			}
			if _, dup := c.nums[f]; !dup {
				c.nums[f] = float64(code)
			}
		default:
			return c, fmt.Errorf("feature %q: category value %v is neither a string, a number nor a bool", name, v)
		}
	}
	return c, nil
}

// categoricalFeatures reads the categorical_feature parameter of the
// LightGBM model file at path: the indices of its categorical features.
func categoricalFeatures(path string, nFeatures int) ([]int, error) {
	text, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	_, params, ok := bytes.Cut(text, []byte("\nparameters:\n"))
	if !ok {
		return nil, fmt.Errorf("%s has pandas_categorical but no parameters section to say which features are categorical", path)
	}
	params, _, _ = bytes.Cut(params, []byte("\nend of parameters"))
	_, line, ok := bytes.Cut(params, []byte("[categorical_feature: "))
	if !ok {
		return nil, fmt.Errorf("%s has pandas_categorical but no categorical_feature parameter", path)
	}
	line, _, _ = bytes.Cut(line, []byte("]"))
	var out []int
	for _, f := range strings.Split(string(line), ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		i, err := strconv.Atoi(f)
		if err != nil || i < 0 || i >= nFeatures {
			return nil, fmt.Errorf("%s: categorical_feature %q is not a list of feature indices below %d", path, line, nFeatures)
		}
		out = append(out, i)
	}
	slices.Sort(out) // the lists follow the columns' order
	return out, nil
}
