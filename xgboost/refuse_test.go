package xgboost_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/xgboost"
)

// TestRefused checks that models the package cannot evaluate exactly are
// refused with EINVALID, an error that names what is unsupported, and the
// hint to use MLflow's scoring server.
func TestRefused(t *testing.T) {
	dir := mustGenerate(t)
	cases := map[string]string{
		"gblinear":          `booster "gblinear" is not supported natively`,
		"vector_leaf":       "vector-leaf trees (multi_strategy=multi_output_tree, 2 values per leaf)",
		"pandas_categories": "trained on pandas category columns",
	}
	for name, want := range cases {
		for _, format := range []string{"json", "ubj"} {
			t.Run(name+"/"+format, func(t *testing.T) {
				_, err := xgboost.ParseFile(filepath.Join(dir, "refuse_"+name+"."+format))
				if modelgate.ErrorCode(err) != modelgate.EINVALID || !errors.Is(err, xgboost.ErrUnsupported) {
					t.Fatalf("got %v, want EINVALID wrapping ErrUnsupported", err)
				}
				if msg := err.Error(); !strings.Contains(msg, want) || !strings.Contains(msg, "MLflow's scoring server") {
					t.Errorf("error %q does not say %q and suggest MLflow's scoring server", msg, want)
				}
			})
		}
	}
}

// TestRefused_Objective edits a generated model's objective to one that is
// not served.
func TestRefused_Objective(t *testing.T) {
	dir := mustGenerate(t)
	b, err := os.ReadFile(filepath.Join(dir, "squarederror_d3.json"))
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Replace(string(b), `"name":"reg:squarederror"`, `"name":"reg:madeup"`, 1)
	if text == string(b) {
		t.Fatal("the model does not name its objective as expected")
	}
	_, err = xgboost.Parse([]byte(text))
	if modelgate.ErrorCode(err) != modelgate.EINVALID || !errors.Is(err, xgboost.ErrUnsupported) || !strings.Contains(err.Error(), `objective "reg:madeup" is not supported natively`) {
		t.Errorf("got %v", err)
	}
}

// TestCorrupt cuts a UBJSON and a JSON model short at many places and flips
// bytes: every result must be a model or an EINVALID error, never a panic.
func TestCorrupt(t *testing.T) {
	dir := mustGenerate(t)
	for _, name := range []string{"categorical_binary.ubj", "categorical_binary.json", "dart.ubj"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		refused := 0
		for cut := 0; cut < len(b); cut += 1 + len(b)/500 {
			if _, err := xgboost.Parse(b[:cut]); modelgate.ErrorCode(err) != modelgate.EINVALID {
				t.Fatalf("%s cut at %d: got %v, want EINVALID", name, cut, err)
			}
			refused++
			c := append([]byte(nil), b...)
			c[cut] ^= 0xff
			if m, err := xgboost.Parse(c); err == nil {
				_, _ = m.PredictMargin(make([]float64, m.NumFeatures()))
			} else if modelgate.ErrorCode(err) != modelgate.EINVALID {
				t.Fatalf("%s byte %d flipped: got %v, want EINVALID", name, cut, err)
			}
		}
		t.Logf("%s: %d truncations refused", name, refused)
	}
}
