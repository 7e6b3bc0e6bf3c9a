package sketch

import (
	"math"

	"github.com/DataDog/sketches-go/ddsketch"
	"github.com/DataDog/sketches-go/ddsketch/store"

	"github.com/modelgate/modelgate"
)

// Diff returns what newer holds beyond older when both summarise the same
// growing stream at two instants (a platform's totals since a traffic
// split): the values that arrived in between, bucket by bucket. A newer
// summary smaller than older means the stream restarted (a serving process
// restarted without its figures), and newer is returned whole, as a
// Prometheus counter reset is read. EINVALID when a sketch is missing or
// does not decode. Min and Max are the sketch's, within its accuracy.
func Diff(newer, older modelgate.Distribution) (modelgate.Distribution, error) {
	if older.Count == 0 || newer.Count < older.Count {
		return newer, nil
	}
	if newer.Count == older.Count {
		return modelgate.Distribution{}, nil
	}
	n, err := decode(newer)
	if err != nil {
		return modelgate.Distribution{}, err
	}
	o, err := decode(older)
	if err != nil {
		return modelgate.Distribution{}, err
	}
	out := New()
	subtract(out.sketch.GetPositiveValueStore(), n.GetPositiveValueStore(), o.GetPositiveValueStore())
	subtract(out.sketch.GetNegativeValueStore(), n.GetNegativeValueStore(), o.GetNegativeValueStore())
	if z := n.GetZeroCount() - o.GetZeroCount(); z > 0 {
		_ = out.sketch.AddWithCount(0, z)
	}
	out.count = newer.Count - older.Count
	out.sum, out.sumSq = newer.Sum-older.Sum, math.Max(newer.SumSq-older.SumSq, 0)
	out.min, out.max = newer.Min, newer.Max
	if v, err := out.sketch.GetMinValue(); err == nil {
		out.min = v
	}
	if v, err := out.sketch.GetMaxValue(); err == nil {
		out.max = v
	}
	d := out.Distribution()
	d.Counts = diffCounts(newer.Counts, older.Counts)
	return d, nil
}

func decode(d modelgate.Distribution) (*ddsketch.DDSketch, error) {
	if len(d.Sketch) == 0 {
		return nil, modelgate.Errorf(modelgate.EINVALID, "the figures carry no sketch to subtract")
	}
	r, err := Restore(d)
	if err != nil {
		return nil, err
	}
	return r.sketch, nil
}

// subtract adds to dst every bucket of a whose count exceeds b's.
func subtract(dst, a, b store.Store) {
	old := map[int]float64{}
	b.ForEach(func(i int, c float64) bool { old[i] = c; return false })
	a.ForEach(func(i int, c float64) bool {
		if d := c - old[i]; d > 0 {
			dst.AddWithCount(i, d)
		}
		return false
	})
}

func diffCounts(a, b map[string]int64) map[string]int64 {
	if len(a) == 0 {
		return nil
	}
	out := map[string]int64{}
	for k, v := range a {
		if d := v - b[k]; d > 0 {
			out[k] = d
		}
	}
	return out
}

// DiffStats returns what a revision served between two readings of its
// totals (see Diff). A reading with fewer requests than the older one
// means the totals restarted, and it is returned whole.
func DiffStats(newer, older modelgate.RevisionStats) (modelgate.RevisionStats, error) {
	if newer.Requests < older.Requests || older.Requests == 0 {
		return newer, nil
	}
	out := modelgate.RevisionStats{Version: newer.Version, Requests: newer.Requests - older.Requests, Errors: max(newer.Errors-older.Errors, 0)}
	var err error
	if out.LatencyMS, err = Diff(newer.LatencyMS, older.LatencyMS); err != nil {
		return out, err
	}
	if out.Predictions, err = Diff(newer.Predictions, older.Predictions); err != nil {
		return out, err
	}
	if len(newer.Features) > 0 {
		out.Features = make(map[string]modelgate.Distribution, len(newer.Features))
		for k, v := range newer.Features {
			if out.Features[k], err = Diff(v, older.Features[k]); err != nil {
				return out, err
			}
		}
	}
	if newer.Accuracy != nil {
		a := *newer.Accuracy
		if o := older.Accuracy; o != nil && o.Count <= a.Count {
			a.Count, a.SumAbsError, a.SumSqAbsErr, a.SumAbsActual = a.Count-o.Count, a.SumAbsError-o.SumAbsError, a.SumSqAbsErr-o.SumSqAbsErr, a.SumAbsActual-o.SumAbsActual
		}
		out.Accuracy = &a
	}
	return out, nil
}
