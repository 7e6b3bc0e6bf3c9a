package profile

import (
	"fmt"
	"math"
	"strconv"

	"github.com/DataDog/sketches-go/ddsketch"

	"modelgate"
)

// Accuracy is the relative accuracy of the profile's sketches; it matches
// the gateway's so that canary, production and reference sketches share
// their buckets.
const Accuracy = 0.01

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

type column struct {
	sk         *ddsketch.DDSketch
	counts     map[string]int64
	n          int64
	sum, sumSq float64
	lo, hi     float64
}

func newColumn(categorical bool) *column {
	c := &column{}
	if categorical {
		c.counts = map[string]int64{}
		return c
	}
	sk, err := ddsketch.NewDefaultDDSketch(Accuracy)
	if err != nil {
		panic(err) // only for an accuracy outside (0, 1)
	}
	c.sk = sk
	return c
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
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return
	}
	if c.counts != nil {
		c.counts[strconv.FormatFloat(v, 'g', -1, 64)]++
		c.n++
		return
	}
	if c.sk.Add(v) != nil {
		return
	}
	if c.n == 0 || v < c.lo {
		c.lo = v
	}
	if c.n == 0 || v > c.hi {
		c.hi = v
	}
	c.n++
	c.sum += v
	c.sumSq += v * v
}

func (c *column) distribution() modelgate.Distribution {
	if c.n == 0 {
		return modelgate.Distribution{}
	}
	if c.counts != nil {
		m := make(map[string]int64, len(c.counts))
		for k, v := range c.counts {
			m[k] = v
		}
		return modelgate.Distribution{Count: c.n, Counts: m}
	}
	q, _ := c.sk.GetValuesAtQuantiles([]float64{0.5, 0.95, 0.99})
	var enc []byte
	c.sk.Encode(&enc, false)
	return modelgate.Distribution{Count: c.n, Sum: c.sum, SumSq: c.sumSq, Min: c.lo, Max: c.hi, P50: q[0], P95: q[1], P99: q[2], Sketch: enc}
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
