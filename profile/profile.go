package profile

import (
	"fmt"
	"math"
	"strconv"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/sketch"
)

// Accuracy is the relative accuracy of the profile's sketches: the gateway's
// and the payload receiver's, so canary, production and reference sketches
// share their buckets.
const Accuracy = sketch.Accuracy

// Builder accumulates a reference sample. Columns are numeric unless named
// in Categorical. Rows may be added with AddRow, or column by column with
// AddColumn; AddColumn calls for different columns may run concurrently.
type Builder struct {
	names       []string
	categorical []bool
	cols        []*column
	preds       *column
	rows        int64
}

// column is a numeric column's shared accumulator, or a categorical
// column's counts by text.
type column struct {
	num    *sketch.Dist
	counts map[string]int64
	n      int64
}

func newColumn(categorical bool) *column {
	if categorical {
		return &column{counts: map[string]int64{}}
	}
	return &column{num: sketch.New()}
}

// NewBuilder starts a profile of the named columns; categorical lists the
// names of categorical ones (their values are counted by their text).
func NewBuilder(names []string, categorical ...string) *Builder {
	isCat := map[string]bool{}
	for _, c := range categorical {
		isCat[c] = true
	}
	b := &Builder{names: names, categorical: make([]bool, len(names)), cols: make([]*column, len(names)), preds: newColumn(false)}
	for i, n := range names {
		b.categorical[i] = isCat[n]
		b.cols[i] = newColumn(isCat[n])
	}
	return b
}

// AddRow adds one reference row (values in the order of the names).
func (b *Builder) AddRow(values []float64) error {
	if len(values) != len(b.names) {
		return fmt.Errorf("row has %d values, want %d", len(values), len(b.names))
	}
	for j, v := range values {
		b.cols[j].add(v)
	}
	b.rows++
	return nil
}

// AddColumn adds values of column j (rows are counted by AddRows).
func (b *Builder) AddColumn(j int, values []float64) {
	c := b.cols[j]
	for _, v := range values {
		c.add(v)
	}
}

// AddRows counts n rows added column by column.
func (b *Builder) AddRows(n int64) { b.rows += n }

// AddPrediction adds the model's prediction for a reference row.
func (b *Builder) AddPrediction(v float64) { b.preds.add(v) }

func (c *column) add(v float64) {
	if c.num != nil {
		c.num.Add(v)
		return
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return
	}
	c.counts[strconv.FormatFloat(v, 'g', -1, 64)]++
	c.n++
}

func (c *column) distribution() modelgate.Distribution {
	if c.num != nil {
		return c.num.Distribution()
	}
	if c.n == 0 {
		return modelgate.Distribution{}
	}
	m := make(map[string]int64, len(c.counts))
	for k, v := range c.counts {
		m[k] = v
	}
	return modelgate.Distribution{Count: c.n, Counts: m}
}

// Profile returns the profile of everything added so far.
func (b *Builder) Profile() *modelgate.Profile {
	p := &modelgate.Profile{Rows: b.rows, Features: make(map[string]modelgate.Distribution, len(b.names)), Predictions: b.preds.distribution()}
	for j, n := range b.names {
		p.Features[n] = b.cols[j].distribution()
	}
	return p
}

// Distribution summarises raw values with the profile's sketch (numeric) or
// counts (categorical), as the gateway measures live traffic. For tests,
// simulations and benchmarks.
func Distribution(values []float64, categorical bool) modelgate.Distribution {
	c := newColumn(categorical)
	for _, v := range values {
		c.add(v)
	}
	return c.distribution()
}
