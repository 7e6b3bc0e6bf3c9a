package lightgbm

import (
	"fmt"
	"runtime"
	"strings"
	"sync"

	"github.com/modelgate/modelgate"
)

// Model is a parsed LightGBM model. It is read-only after Parse, so one
// Model may serve predictions from many goroutines.
type Model struct {
	version       string   // "v3" or "v4"
	outputs       int      // values per row: num_tree_per_iteration
	featureNames  []string // one per feature, in input order
	objective     objective
	averageOutput bool      // random forest: the sum is divided by the number of iterations
	trees         []tree    // in file order; tree i belongs to output i % outputs
	flat          flatModel // the trees laid out for prediction (flat.go)
	pandasCats    string    // the pandas_categorical JSON trailer; "" for null, [] or absent
	// blocks holds *blockScratch for reuse: a scratch is blockRows values a
	// feature (and QuickScorer's masks), too much to allocate per call.
	blocks sync.Pool
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
	return m.predictOne(features, false)
}

// PredictRaw is what LightGBM's predict returns with raw_score=True: the
// sum of the trees' outputs, without the objective's transform (sigmoid,
// softmax, exp…) and, as GBDT::PredictRaw, without a random forest's
// averaging.
func (m *Model) PredictRaw(features []float64) ([]float64, error) {
	return m.predictOne(features, true)
}

func (m *Model) predictOne(features []float64, raw bool) ([]float64, error) {
	if err := m.checkRow(features); err != nil {
		return nil, err
	}
	out := make([]float64, m.outputs)
	m.flat.addRow(features, out)
	m.finish(out, raw)
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
	m.flat.addRow(features, out[:])
	m.finish(out[:], false)
	return out[0], nil
}

// PredictBatch is PredictRow over many rows. EINVALID, naming the row, if any
// row has the wrong number of values.
func (m *Model) PredictBatch(rows [][]float64) ([]float64, error) {
	if err := m.checkSingleOutput(); err != nil {
		return nil, err
	}
	out := make([]float64, len(rows))
	return out, m.PredictBatchInto(rows, out)
}

// PredictBatchRaw is PredictRaw over many rows: NumOutputs values a row,
// row after row.
func (m *Model) PredictBatchRaw(rows [][]float64) ([]float64, error) {
	out := make([]float64, len(rows)*m.outputs)
	return out, m.batch(rows, out, true)
}

// PredictBatchInto writes Predict of every row into out, which must hold
// NumOutputs values a row: out[i*NumOutputs()+k] is output k of row i. It
// serves multiclass models and callers that reuse out. Large batches are
// split over GOMAXPROCS goroutines; the results do not depend on it.
// EINVALID, changing nothing, if a row has the wrong number of values or out
// the wrong length.
func (m *Model) PredictBatchInto(rows [][]float64, out []float64) error {
	return m.batch(rows, out, false)
}

// PredictBatchRawInto is PredictBatchInto without the output transform.
func (m *Model) PredictBatchRawInto(rows [][]float64, out []float64) error {
	return m.batch(rows, out, true)
}

func (m *Model) batch(rows [][]float64, out []float64, raw bool) error {
	if len(out) != len(rows)*m.outputs {
		return modelgate.Errorf(modelgate.EINVALID, "out holds %d values, want %d (%d rows of %d outputs)", len(out), len(rows)*m.outputs, len(rows), m.outputs)
	}
	for i, r := range rows {
		if err := m.checkRow(r); err != nil {
			return modelgate.Errorf(modelgate.EINVALID, "row %d: %s", i, modelgate.ErrorMessage(err))
		}
	}
	m.predictRows(rows, out, raw)
	return nil
}

// parallelRows is the fewest rows worth a goroutine of their own: 512 rows
// through a 200-tree model take about 100 µs, far more than starting one.
const parallelRows = 512

// predictRows predicts checked rows, on several goroutines when there are
// enough rows. Each row's result depends on that row alone.
func (m *Model) predictRows(rows [][]float64, out []float64, raw bool) {
	workers := min(runtime.GOMAXPROCS(0), len(rows)/parallelRows)
	if workers <= 1 {
		m.predictChunk(rows, out, raw)
		return
	}
	var wg sync.WaitGroup
	per := (len(rows) + workers - 1) / workers
	for lo := 0; lo < len(rows); lo += per {
		hi := min(lo+per, len(rows))
		wg.Go(func() { m.predictChunk(rows[lo:hi], out[lo*m.outputs:hi*m.outputs], raw) })
	}
	wg.Wait()
}

// predictChunk predicts rows on the calling goroutine: a single row alone
// (addRow needs no scratch), more block by block. Both sum a row's trees in
// file order, so the results are the same.
func (m *Model) predictChunk(rows [][]float64, out []float64, raw bool) {
	clear(out)
	k := m.outputs
	if len(rows) == 1 {
		m.flat.addRow(rows[0], out)
	} else {
		m.predictBlocks(rows, out)
	}
	for i := 0; i < len(out); i += k {
		m.finish(out[i:i+k], raw)
	}
}

// predictBlocks adds the trees' outputs for rows into out, blockRows rows
// at a time.
func (m *Model) predictBlocks(rows [][]float64, out []float64) {
	k := m.outputs
	s, _ := m.blocks.Get().(*blockScratch)
	if s == nil {
		s = newBlockScratch(len(m.featureNames))
	}
	for lo := 0; lo < len(rows); lo += blockRows {
		hi := min(lo+blockRows, len(rows))
		m.flat.addBlock(rows[lo:hi], out[lo*k:hi*k], k, s)
	}
	m.blocks.Put(s)
}

// finish is the end of GBDT::Predict on raw sums that were added tree by
// tree in file order (iteration by iteration, as PredictRaw does): unless
// raw, average for random forests and apply the objective's transform.
func (m *Model) finish(out []float64, raw bool) {
	if raw {
		return
	}
	if m.averageOutput {
		iterations := float64(len(m.trees) / len(out))
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
