package lightgbm

import (
	"fmt"
	"strings"

	"github.com/modelgate/modelgate"
)

// Model is a parsed LightGBM model. It is read-only after Parse, so one
// Model may serve predictions from many goroutines.
type Model struct {
	version       string   // "v3" or "v4"
	outputs       int      // values per row: num_tree_per_iteration
	featureNames  []string // one per feature, in input order
	objective     objective
	averageOutput bool   // random forest: the sum is divided by the number of iterations
	trees         []tree // in file order; tree i belongs to output i % outputs
	pandasCats    string // the pandas_categorical JSON trailer; "" for null, [] or absent
}

// FeatureNames returns the names of the model's features in input order.
func (m *Model) FeatureNames() []string {
	return append([]string(nil), m.featureNames...)
}

// NumFeatures is the number of values every input row must have.
func (m *Model) NumFeatures() int { return len(m.featureNames) }

// NumOutputs is the number of values Predict returns per row: the number of
// classes for multiclass models, 1 otherwise.
func (m *Model) NumOutputs() int { return m.outputs }

// NumTrees is the number of trees, over all iterations and classes.
func (m *Model) NumTrees() int { return len(m.trees) }

// Version is the text format version the model was written in ("v3", "v4").
func (m *Model) Version() string { return m.version }

// Objective is the model's objective line as written, e.g. "binary
// sigmoid:1"; it decides the output transform. "" means raw scores.
func (m *Model) Objective() string { return m.objective.text }

// PandasCategorical is the JSON list of category values the Python package
// recorded for pandas "category" columns, or "" if there were none. When it
// is set, LightGBM's Python predict maps such columns to category codes
// before the trees see them, and callers must do the same.
func (m *Model) PandasCategorical() string { return m.pandasCats }

// Predict returns the model's prediction for one row of feature values, one
// value per output (see NumOutputs), exactly as LightGBM's predict does with
// default arguments: NaN is a missing value. EINVALID if the row has the wrong
// number of values.
func (m *Model) Predict(features []float64) ([]float64, error) {
	if err := m.checkRow(features); err != nil {
		return nil, err
	}
	out := make([]float64, m.outputs)
	m.predict(features, out)
	return out, nil
}

// PredictRow is Predict for a single-output model (regression, binary,
// ranking, …). EINVALID for a multiclass model.
func (m *Model) PredictRow(features []float64) (float64, error) {
	if err := m.checkSingleOutput(); err != nil {
		return 0, err
	}
	if err := m.checkRow(features); err != nil {
		return 0, err
	}
	var out [1]float64
	m.predict(features, out[:])
	return out[0], nil
}

// PredictBatch is PredictRow over many rows. EINVALID, naming the row, if any
// row has the wrong number of values.
func (m *Model) PredictBatch(rows [][]float64) ([]float64, error) {
	if err := m.checkSingleOutput(); err != nil {
		return nil, err
	}
	for i, r := range rows {
		if err := m.checkRow(r); err != nil {
			return nil, modelgate.Errorf(modelgate.EINVALID, "row %d: %s", i, modelgate.ErrorMessage(err))
		}
	}
	out := make([]float64, len(rows))
	for i, r := range rows {
		m.predict(r, out[i:i+1])
	}
	return out, nil
}

// predict is GBDT::Predict: sum every tree into its output in file order
// (iteration by iteration, as PredictRaw does), average for random forests,
// then apply the objective's transform.
func (m *Model) predict(x, out []float64) {
	clear(out)
	k := len(out)
	for i := range m.trees {
		out[i%k] += m.trees[i].predict(x)
	}
	if m.averageOutput {
		iterations := float64(len(m.trees) / k)
		for j := range out {
			out[j] /= iterations
		}
	}
	m.objective.convert(out)
}

func (m *Model) checkRow(features []float64) error {
	if len(features) != len(m.featureNames) {
		return modelgate.Errorf(modelgate.EINVALID, "want %d feature values (%s), got %d",
			len(m.featureNames), abbreviate(m.featureNames, 8), len(features))
	}
	return nil
}

func (m *Model) checkSingleOutput() error {
	if m.outputs != 1 {
		return modelgate.Errorf(modelgate.EINVALID, "the model has %d outputs per row (objective %q); use Predict", m.outputs, m.objective.text)
	}
	return nil
}

// abbreviate lists up to n names, so that errors about wide models stay short.
func abbreviate(names []string, n int) string {
	if len(names) <= n {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s, … %d more", strings.Join(names[:n], ", "), len(names)-n)
}
