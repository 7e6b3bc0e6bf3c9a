package mlmodel

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestCategoryCode checks the codes against what pandas gives for
// Series(values).astype("category").cat.set_categories(list).cat.codes
// (-1 is missing here, nil) for a column of one type, checked with pandas 3
// when this was written: numbers by value, strings only with strings,
// bools only with bools.
func TestCategoryCode(t *testing.T) {
	mustCategory := func(list string) category {
		t.Helper()
		var values []any
		dec := json.NewDecoder(strings.NewReader(list))
		dec.UseNumber()
		if err := dec.Decode(&values); err != nil {
			t.Fatal(err)
		}
		c, err := newCategory(0, "f", values)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	ints := mustCategory(`[1, 2, 3]`)
	strs := mustCategory(`["blue", "red", "1"]`)
	floats := mustCategory(`[1.5, 2.0]`)
	bools := mustCategory(`[false, true]`)
	tests := []struct {
		name string
		c    category
		v    any
		want any
	}{
		{"IntSeen", ints, 2.0, 1.0},
		{"IntAsJSONNumber", ints, json.Number("3"), 2.0},
		{"IntAsFloat", ints, json.Number("2.0"), 1.0},
		{"IntUnseen", ints, 5.0, nil},
		{"IntGivenString", ints, "2", nil},
		{"IntGivenTrue", ints, true, nil},
		{"IntGivenNull", ints, nil, nil},
		{"StringSeen", strs, "red", 1.0},
		{"StringUnseen", strs, "purple", nil},
		{"StringGivenNumber", strs, 1.0, nil}, // 1 != "1"
		{"StringNumeric", strs, "1", 2.0},
		{"StringNaN", strs, "NaN", nil},
		{"StringGivenNull", strs, nil, nil},
		{"CaseMatters", strs, "Red", nil},
		{"FloatSeen", floats, 2, 1.0},
		{"FloatUnseen", floats, 1.0, nil},
		{"BoolSeen", bools, true, 1.0},
		{"BoolGivenOne", bools, 1.0, nil},
		{"BoolGivenString", bools, "True", nil},
		{"Object", strs, map[string]any{}, map[string]any{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, tt.c.code(tt.v)); diff != "" {
				t.Errorf("code(%#v) (-want +got):\n%s", tt.v, diff)
			}
		})
	}
}

func TestParseCategories(t *testing.T) {
	write := func(params string) string {
		path := filepath.Join(t.TempDir(), "model.lgb")
		text := "tree\nversion=v4\n\nend of trees\n\nparameters:\n" + params + "\nend of parameters\n\npandas_categorical:[]\n"
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	names := []string{"a", "b", "c"}
	cats, err := parseCategories(write("[max_bin: 255]\n[categorical_feature: 2,0]"), `[["x", "y"], [7, 8]]`, names)
	if err != nil {
		t.Fatal(err)
	}
	if len(cats) != 2 || cats[0].name != "a" || cats[1].name != "c" || cats[0].code("y") != 1.0 || cats[1].code(8.0) != 1.0 {
		t.Errorf("got %+v", cats)
	}
	for _, tt := range []struct{ name, params, lists, want string }{
		{"CountMismatch", "[categorical_feature: 1]", `[["x"], [1]]`, "the booster has 2 pandas_categorical lists but 1 categorical features (categorical_feature [1]); " +
			"cannot tell which features they code (ordered category columns and an explicit categorical_feature are not supported)"},
		{"NoParameter", "[max_bin: 255]", `[["x"]]`, "has pandas_categorical but no categorical_feature parameter"},
		{"IndexOutOfRange", "[categorical_feature: 3]", `[["x"]]`, `categorical_feature "3" is not a list of feature indices below 3`},
		{"Names", "[categorical_feature: name:b]", `[["x"]]`, `categorical_feature "name:b" is not a list of feature indices below 3`},
		{"NotJSON", "[categorical_feature: 1]", `[["x"]`, `pandas_categorical [["x"] is not a JSON list of lists`},
		{"NestedValue", "[categorical_feature: 1]", `[[["x"]]]`, `feature "b": category value [x] is neither a string, a number nor a bool`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseCategories(write(tt.params), tt.lists, names)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestAliases(t *testing.T) {
	got := aliases([]string{"num one", "x", "two  spaces", "gone away", "c d"}, []string{"num_one", "x", "two__spaces", "c d", "c_d"})
	want := []alias{{"num one", "num_one"}, {"two  spaces", "two__spaces"}}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(alias{})); diff != "" {
		t.Errorf("aliases (-want +got):\n%s", diff)
	}
}
