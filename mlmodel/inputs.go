package mlmodel

import (
	"errors"
	"maps"
	"path/filepath"
	"slices"
	"strings"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/lightgbm"
	"github.com/modelgate/modelgate/mlmodelfile"
)

// ErrNotNative is wrapped by Load's EINVALID error for a model directory
// whose flavor (or the form the flavor stored it in) modelgate does not
// serve in-process, such as a pickled scikit-learn estimator. A caller may
// serve such a model with MLflow's own scoring server instead.
var ErrNotNative = errors.New("model flavor not served natively")

// notNative marks e as ErrNotNative.
func notNative(e *modelgate.Error) *modelgate.Error {
	e.Err = ErrNotNative
	return e
}

// inputs rewrites request instances before the feature lookup, for the
// two things a booster trained from a pandas DataFrame needs: fields named
// as the user logged them, and category values coded as LightGBM's Python
// predict codes them. Models without either have no inputs, and their
// instances pass untouched.
type inputs struct {
	aliases []alias    // logged name → the booster's name
	cats    []category // in feature order
}

type alias struct{ logged, booster string }

// newInputs builds the rewriting for the booster b of the model directory
// dir; nil when nothing needs rewriting.
func newInputs(dir string, ml *mlmodelfile.MLmodel, b predictor) (*inputs, error) {
	in := &inputs{}
	if pc := pandasCategorical(b); pc != "" {
		if ml.FeatureTransform != nil {
			return nil, invalidf("model %s: a feature transform over pandas category columns is not supported; drop one of them", dir)
		}
		flavor, _ := ml.LightGBM()
		cats, err := parseCategories(filepath.Join(dir, flavor.Data), pc, b.FeatureNames())
		if err != nil {
			return nil, invalidf("model %s: %v", dir, err)
		}
		in.cats = cats
	}
	if ml.FeatureTransform == nil { // a transform reads raw fields, named by its sources
		logged, err := mlmodelfile.LoggedColumns(dir, ml)
		if err != nil {
			return nil, invalidf("model %s: %v", dir, err)
		}
		in.aliases = aliases(logged, b.FeatureNames())
	}
	if len(in.aliases) == 0 && len(in.cats) == 0 {
		return nil, nil
	}
	return in, nil
}

// aliases pairs each logged name LightGBM renamed with the booster's name
// for it. LightGBM's Dataset replaces every space in a feature name with
// an underscore (and refuses JSON's special characters), so that is the
// only renaming to undo.
func aliases(logged, names []string) []alias {
	var out []alias
	for _, l := range logged {
		renamed := strings.ReplaceAll(l, " ", "_")
		if renamed != l && slices.Contains(names, renamed) && !slices.Contains(names, l) {
			out = append(out, alias{logged: l, booster: renamed})
		}
	}
	return out
}

// rewrite returns the instances with logged names added under the
// booster's names and category values replaced by their codes. It copies
// what it changes: the caller's instances are not modified.
func (in *inputs) rewrite(instances []any) []any {
	out := make([]any, len(instances))
	for i, inst := range instances {
		switch v := inst.(type) {
		case map[string]any:
			out[i] = in.object(v)
		case []any:
			out[i] = in.array(v)
		default:
			out[i] = inst
		}
	}
	return out
}

func (in *inputs) object(fields map[string]any) map[string]any {
	out := maps.Clone(fields)
	for _, a := range in.aliases {
		if v, ok := fields[a.logged]; ok {
			if _, taken := fields[a.booster]; !taken {
				out[a.booster] = v
			}
		}
	}
	for i := range in.cats {
		c := &in.cats[i]
		if v, ok := out[c.name]; ok {
			out[c.name] = c.code(v)
		}
	}
	return out
}

func (in *inputs) array(values []any) []any {
	out := slices.Clone(values)
	for i := range in.cats {
		if c := &in.cats[i]; c.feature < len(out) {
			out[c.feature] = c.code(out[c.feature])
		}
	}
	return out
}

// pandasCategorical is a LightGBM booster's pandas_categorical trailer; ""
// for other boosters (XGBoost refuses such models when loading).
func pandasCategorical(b predictor) string {
	if lb, ok := b.(*lightgbm.Model); ok {
		return lb.PandasCategorical()
	}
	return ""
}
