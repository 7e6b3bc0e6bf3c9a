package sketch

import (
	"math"

	"github.com/DataDog/sketches-go/ddsketch"

	"github.com/modelgate/modelgate"
)

// Accuracy is the relative accuracy of every sketch Dist keeps. It matches
// profile.Accuracy, so live and reference sketches share their buckets.
const Accuracy = 0.01

// Dist accumulates one quantity. Non-finite values and values beyond the
// sketch's range (|v| > ~1e307) are skipped. It is not safe for concurrent
// use; callers guard it with their own lock.
type Dist struct {
	sketch   *ddsketch.DDSketch
	count    int64
	sum      float64
	sumSq    float64
	min, max float64
}

// New returns an empty Dist.
func New() *Dist {
	// NewDefaultDDSketch only fails for an accuracy outside (0, 1).
	sk, err := ddsketch.NewDefaultDDSketch(Accuracy)
	if err != nil {
		panic(err)
	}
	return &Dist{sketch: sk}
}

// Add records one value.
func (d *Dist) Add(v float64) {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return
	}
	if d.sketch.Add(v) != nil {
		return
	}
	if d.count == 0 || v < d.min {
		d.min = v
	}
	if d.count == 0 || v > d.max {
		d.max = v
	}
	d.count++
	d.sum += v
	d.sumSq += v * v
}

// Count returns the number of values recorded.
func (d *Dist) Count() int64 { return d.count }

// Distribution returns the summary with p50/p95/p99 and the sketch's binary
// encoding; Count == 0 and nothing else without data.
func (d *Dist) Distribution() modelgate.Distribution {
	if d.count == 0 {
		return modelgate.Distribution{}
	}
	q, err := d.sketch.GetValuesAtQuantiles([]float64{0.50, 0.95, 0.99})
	if err != nil {
		q = []float64{math.NaN(), math.NaN(), math.NaN()} // unreachable: the sketch is not empty
	}
	var enc []byte
	d.sketch.Encode(&enc, false)
	return modelgate.Distribution{
		Count: d.count, Sum: d.sum, SumSq: d.sumSq, Min: d.min, Max: d.max,
		P50: q[0], P95: q[1], P99: q[2], Sketch: enc,
	}
}

// Restore returns a Dist holding what d summarises, so figures saved as a
// Distribution (with its Sketch) keep accumulating after a restart. EINVALID
// when the sketch does not decode or was built with another accuracy.
func Restore(d modelgate.Distribution) (*Dist, error) {
	out := New()
	if d.Count == 0 {
		return out, nil
	}
	if err := out.sketch.DecodeAndMergeWith(d.Sketch); err != nil {
		return nil, modelgate.Errorf(modelgate.EINVALID, "restore sketch: %v", err)
	}
	if got := out.sketch.GetCount(); got != float64(d.Count) {
		return nil, modelgate.Errorf(modelgate.EINVALID, "restore sketch: it holds %v values, the summary %d", got, d.Count)
	}
	out.count, out.sum, out.sumSq, out.min, out.max = d.Count, d.Sum, d.SumSq, d.Min, d.Max
	return out, nil
}
