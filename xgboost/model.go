package xgboost

import (
	"fmt"
	"math"
	"strings"

	"github.com/modelgate/modelgate"
)

// Model is a parsed XGBoost model. It is read-only after Parse, so one
// Model may serve predictions from many goroutines.
type Model struct {
	featureNames []string // as saved; empty if the model was trained without names
	featureTypes []string // "q", "c", …; empty if not saved
	numFeature   int
	outputs      int // margins per row: num_class, num_target or 1
	objective    objective
	baseScore    []float32 // per output, as saved (probability scale)
	baseMargin   []float32 // per output, in margin space
	booster      string    // gbtree or dart
	trees        []tree
	groups       []int     // output of each tree (tree_info)
	weights      []float32 // dart's tree weights; nil for gbtree
	attributes   map[string]string
}

// FeatureNames returns the names of the model's features in input order,
// f0, f1, … if it was trained without names (as XGBoost names them).
func (m *Model) FeatureNames() []string {
	if len(m.featureNames) > 0 {
		return append([]string(nil), m.featureNames...)
	}
	names := make([]string, m.numFeature)
	for i := range names {
		names[i] = fmt.Sprintf("f%d", i)
	}
	return names
}

// FeatureTypes returns the saved feature types ("q" numerical, "c"
// categorical, …), nil if none were saved.
func (m *Model) FeatureTypes() []string { return append([]string(nil), m.featureTypes...) }

// NumFeatures is the number of values every input row must have.
func (m *Model) NumFeatures() int { return m.numFeature }

// NumOutputs is the number of values Predict returns per row: the number of
// classes for multi:softprob, the number of targets for multi-target
// models, 1 otherwise (multi:softmax returns the class index).
func (m *Model) NumOutputs() int { return m.objective.outputs(m.outputs) }

// NumMargins is the number of values PredictMargin returns per row.
func (m *Model) NumMargins() int { return m.outputs }

// NumTrees is the number of trees over all iterations and outputs.
func (m *Model) NumTrees() int { return len(m.trees) }

// Objective is the objective's name, e.g. binary:logistic.
func (m *Model) Objective() string { return m.objective.name }

// Attribute returns a learner attribute (Booster.attr), such as
// best_iteration, which the scikit-learn wrappers predict with.
func (m *Model) Attribute(key string) (string, bool) {
	v, ok := m.attributes[key]
	return v, ok
}

// Booster is gbtree or dart.
func (m *Model) Booster() string { return m.booster }

// BaseScore returns base_score per output as saved, before the objective
// maps it to margin space.
func (m *Model) BaseScore() []float64 { return widen(m.baseScore) }

// Predict returns the model's prediction for one row, as XGBoost's
// Booster.predict does: NaN is a missing value. EINVALID if the row has the
// wrong number of values or a value XGBoost refuses (±Inf, or beyond
// float32's range).
func (m *Model) Predict(features []float64) ([]float64, error) {
	margin, err := m.margins(features)
	if err != nil {
		return nil, err
	}
	out := make([]float32, m.NumOutputs())
	m.objective.apply(margin, out)
	return widen(out), nil
}

// PredictMargin is Predict with output_margin=True: the raw sums before the
// objective's transform, one per output group.
func (m *Model) PredictMargin(features []float64) ([]float64, error) {
	margin, err := m.margins(features)
	if err != nil {
		return nil, err
	}
	return widen(margin), nil
}

// PredictRow is Predict for a model with one output per row.
func (m *Model) PredictRow(features []float64) (float64, error) {
	if err := m.checkSingleOutput(); err != nil {
		return 0, err
	}
	out, err := m.Predict(features)
	if err != nil {
		return 0, err
	}
	return out[0], nil
}

// PredictBatch is PredictRow over many rows. EINVALID, naming the row, if
// any row is refused.
func (m *Model) PredictBatch(rows [][]float64) ([]float64, error) {
	if err := m.checkSingleOutput(); err != nil {
		return nil, err
	}
	out := make([]float64, len(rows))
	for i, r := range rows {
		p, err := m.Predict(r)
		if err != nil {
			return nil, modelgate.Errorf(modelgate.EINVALID, "row %d: %s", i, modelgate.ErrorMessage(err))
		}
		out[i] = p[0]
	}
	return out, nil
}

// margins is the CPU predictor: the row as float32, then every tree's leaf
// added in float32 to its output group, in tree order, from the base
// margin; dart multiplies each leaf by its tree's weight first.
func (m *Model) margins(features []float64) ([]float32, error) {
	x, err := m.row(features)
	if err != nil {
		return nil, err
	}
	margin := append([]float32(nil), m.baseMargin...)
	for i := range m.trees {
		leaf := m.trees[i].leaf(x)
		if m.weights != nil {
			leaf = float32(leaf * m.weights[i])
		}
		margin[m.groups[i]] = float32(margin[m.groups[i]] + leaf)
	}
	return margin, nil
}

// row converts the features to float32 as a DMatrix does, refusing what
// XGBoost refuses.
func (m *Model) row(features []float64) ([]float32, error) {
	if len(features) != m.numFeature {
		return nil, modelgate.Errorf(modelgate.EINVALID, "want %d feature values (%s), got %d",
			m.numFeature, abbreviate(m.FeatureNames(), 8), len(features))
	}
	x := make([]float32, len(features))
	for j, f := range features {
		x[j] = float32(f)
		if math.IsInf(float64(x[j]), 0) {
			return nil, modelgate.Errorf(modelgate.EINVALID, "feature %d (%s) is %v: XGBoost refuses infinite values and values beyond float32's range", j, m.FeatureNames()[j], f).
				WithHint("send null (NaN) for a missing value")
		}
	}
	return x, nil
}

func (m *Model) checkSingleOutput() error {
	if n := m.NumOutputs(); n != 1 {
		return modelgate.Errorf(modelgate.EINVALID, "the model has %d outputs per row (objective %s); use Predict", n, m.objective.name)
	}
	return nil
}

func widen(v []float32) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

// abbreviate lists up to n names, so that errors about wide models stay short.
func abbreviate(names []string, n int) string {
	if len(names) <= n {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s, … %d more", strings.Join(names[:n], ", "), len(names)-n)
}
