package lightgbm_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/lightgbm"
)

func mustReadText(tb testing.TB, name string) string {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

// replaceLine replaces the first line starting with prefix.
func replaceLine(tb testing.TB, text, prefix, with string) string {
	tb.Helper()
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, prefix) {
			lines[i] = with
			return strings.Join(lines, "\n")
		}
	}
	tb.Fatalf("no line starts with %q", prefix)
	return ""
}

func TestParse_Header(t *testing.T) {
	m := mustParseFile(t, filepath.Join("testdata", "binary.txt"))
	got := map[string]any{
		"features": m.FeatureNames(), "n": m.NumFeatures(), "outputs": m.NumOutputs(),
		"trees": m.NumTrees(), "objective": m.Objective(), "version": m.Version(), "pandas": m.PandasCategorical(),
	}
	want := map[string]any{
		"features": []string{"Column_0", "Column_1", "Column_2", "Column_3"}, "n": 4, "outputs": 1,
		"trees": 10, "objective": "binary sigmoid:0.7", "version": "v4", "pandas": "",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("header (-want +got):\n%s", diff)
	}
	names := m.FeatureNames()
	names[0] = "changed"
	if m.FeatureNames()[0] != "Column_0" {
		t.Error("FeatureNames returned the model's own slice")
	}
}

func TestParse_MulticlassOutputs(t *testing.T) {
	m := mustParseFile(t, filepath.Join("testdata", "multiclass.txt"))
	if m.NumOutputs() != 4 || m.NumTrees() != 24 {
		t.Errorf("outputs %d, trees %d; want 4, 24", m.NumOutputs(), m.NumTrees())
	}
}

func TestParse_CRLF(t *testing.T) {
	text := mustReadText(t, "categorical.txt")
	crlf, err := lightgbm.Parse(strings.NewReader(strings.ReplaceAll(text, "\n", "\r\n")))
	if err != nil {
		t.Fatal(err)
	}
	lf := mustParseFile(t, filepath.Join("testdata", "categorical.txt"))
	row := []float64{33, 1, 0.25}
	a, _ := crlf.Predict(row)
	b, _ := lf.Predict(row)
	if diff := cmp.Diff(b, a); diff != "" {
		t.Errorf("CRLF model predicts differently (-lf +crlf):\n%s", diff)
	}
}

// TestParse_Invalid corrupts a valid model in one place each and checks the
// error is EINVALID and says where and what.
func TestParse_Invalid(t *testing.T) {
	base := mustReadText(t, "categorical.txt")
	tests := []struct {
		name string
		text string
		want string
	}{
		{"Empty", "", "the model file is empty"},
		{"NotAModel", "\x80\x04\x95pickle", `line 1: not a LightGBM text model: the first line is "\x80\x04\x95pickle", want "tree"`},
		{"Version", replaceLine(t, base, "version=", "version=v5"), `line 2: model format version "v5" is not supported; want v3 or v4`},
		{"NoVersion", replaceLine(t, base, "version=", ""), "the header has no version line"},
		{"NumClass", replaceLine(t, base, "num_class=", "num_class=x"), `line 3: num_class: "x" is not an integer >= 1`},
		{"FeatureNames", replaceLine(t, base, "feature_names=", "feature_names=a b"), "line 8: feature_names lists 2 names, max_feature_idx=2 wants 3"},
		{"Objective", replaceLine(t, base, "objective=", "objective=rocket_science"), `line 7: objective "rocket_science" is not supported`},
		{"NoSigmoid", replaceLine(t, base, "objective=", "objective=binary"), "line 7: objective binary has no sigmoid parameter"},
		{"Threshold", replaceLine(t, base, "threshold=", "threshold=1 2 x 4 5 6"), `line 17: tree 0: threshold: value 2, "x", is not a number`},
		{"LeafCount", replaceLine(t, base, "leaf_value=", "leaf_value=1 2"), "line 21: tree 0: leaf_value: 2 values, want 7"},
		{"NoLeafValue", replaceLine(t, base, "leaf_value=", ""), "line 12: tree 0: no leaf_value line"},
		{"Feature", replaceLine(t, base, "split_feature=", "split_feature=0 1 1 9 2 2"), "line 15: tree 0: split_feature: value 3, 9, is not one of the model's 3 features"},
		{"DecisionType", replaceLine(t, base, "decision_type=", "decision_type=9 1 1 13 2 2"), "line 18: tree 0: decision_type: value 3, 13, is not a valid decision type"},
		{"CategorySet", replaceLine(t, base, "threshold=", "threshold=7 1 2 -0.5 0.3 -1.2"), "line 17: tree 0: threshold: value 0, 7, of a categorical split does not name one of the tree's 3 category sets"},
		{"CategoryNoSets", replaceLine(t, replaceLine(t, mustReadText(t, "regression_nan.txt"), "decision_type=", "decision_type=9 2 2 2 8 10"), "threshold=", "threshold=0 1 2 3 4 5"), "of a categorical split does not name one of the tree's 0 category sets"},
		{"CatBoundaries", replaceLine(t, base, "cat_boundaries=", "cat_boundaries=0 3 2 5"), "cat_boundaries: must start at 0 and never decrease"},
		{"CatThreshold", replaceLine(t, base, "cat_threshold=", "cat_threshold=1 2 3"), "cat_threshold: 3 values, want 5"},
		{"ChildRange", replaceLine(t, base, "left_child=", "left_child=1 -8 -2 -3 -5 -6"), "line 19: tree 0: left_child: node 1 has child -8, outside the tree"},
		{"Cycle", replaceLine(t, base, "left_child=", "left_child=1 0 -2 -3 -5 -6"), "line 19: tree 0: left_child: node 1 has child 0, which is the root or has another parent"},
		{"LinearFlag", replaceLine(t, mustReadText(t, "linear.txt"), "is_linear=", "is_linear=2"), `tree 0: is_linear: "2" is neither 0 nor 1`},
		{"LinearCount", replaceLine(t, mustReadText(t, "linear.txt"), "num_features=", "num_features=0 5 0"), "tree 0: num_features: value 1, 5, is not a count of the model's 4 features"},
		{"LinearFeature", replaceLine(t, replaceLine(t, mustReadText(t, "linear.txt"), "num_features=", "num_features=0 1 0"), "leaf_features=", "leaf_features=4"), "tree 0: leaf_features: value 0, 4, is not one of the model's 4 features"},
		{"LinearCoeff", replaceLine(t, replaceLine(t, replaceLine(t, mustReadText(t, "linear.txt"), "num_features=", "num_features=0 1 0"), "leaf_features=", "leaf_features=2"), "leaf_coeff=", "leaf_coeff=inf"), "tree 0: leaf_coeff: value 0, +Inf, is not a finite number"},
		{"Truncated", base[:strings.Index(base, "Tree=3")], `the file ends without "end of trees"; the model is truncated`},
		{"TreeSizes", replaceLine(t, base, "tree_sizes=", "tree_sizes=1 2"), "line 10: tree_sizes lists 2 trees, the file holds 12"},
		{"TreeNumber", replaceLine(t, base, "Tree=1", "Tree=7"), `got "Tree=7", want "Tree=1"`},
		{"NoTrees", base[:strings.Index(base, "Tree=0")] + "end of trees\n", "the model has no trees"},
		{"Junk", replaceLine(t, base, "Tree=1", "Leaf=1"), `want "Tree=<n>" or "end of trees", got "Leaf=1"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := lightgbm.Parse(strings.NewReader(tt.text))
			if code := modelgate.ErrorCode(err); code != modelgate.EINVALID {
				t.Fatalf("got code %q (%v), want %q", code, err, modelgate.EINVALID)
			}
			if msg := modelgate.ErrorMessage(err); !strings.Contains(msg, tt.want) {
				t.Errorf("got %q\nwant it to contain %q", msg, tt.want)
			}
		})
	}
}

func TestParseFile_NamesFileAndLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "model.lgb")
	text := replaceLine(t, mustReadText(t, "binary.txt"), "leaf_value=", "leaf_value=oops")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := lightgbm.ParseFile(path)
	want := path + ": line 21: tree 0: leaf_value: 1 values, want 7"
	if got := modelgate.ErrorMessage(err); got != want || modelgate.ErrorCode(err) != modelgate.EINVALID {
		t.Errorf("got %s %q, want invalid %q", modelgate.ErrorCode(err), got, want)
	}
}

func TestParseFile_Missing(t *testing.T) {
	_, err := lightgbm.ParseFile(filepath.Join(t.TempDir(), "nope.txt"))
	if modelgate.ErrorCode(err) != modelgate.ENOTFOUND {
		t.Errorf("got %v, want ENOTFOUND", err)
	}
}

func TestParse_PandasCategorical(t *testing.T) {
	tests := map[string]string{
		"null":         "",
		"[]":           "",
		`[["a", "b"]]`: `[["a", "b"]]`,
	}
	base := mustReadText(t, "categorical.txt")
	for trailer, want := range tests {
		text := strings.Replace(base, "pandas_categorical:null", "pandas_categorical:"+trailer, 1)
		m, err := lightgbm.Parse(strings.NewReader(text))
		if err != nil {
			t.Fatal(err)
		}
		if got := m.PandasCategorical(); got != want {
			t.Errorf("pandas_categorical:%s: got %q, want %q", trailer, got, want)
		}
	}
}
