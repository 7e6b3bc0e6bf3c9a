package sketch_test

import (
	"math"
	"testing"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/sketch"
)

func TestDist(t *testing.T) {
	d := sketch.New()
	if got := d.Distribution(); got.Count != 0 || got.Sketch != nil {
		t.Errorf("empty = %+v, want the zero Distribution", got)
	}
	for _, v := range []float64{-2, 1, 4, math.NaN(), math.Inf(1)} {
		d.Add(v)
	}
	got := d.Distribution()
	want := modelgate.Distribution{Count: 3, Sum: 3, SumSq: 21, Min: -2, Max: 4}
	if got.Count != want.Count || got.Sum != want.Sum || got.SumSq != want.SumSq || got.Min != want.Min || got.Max != want.Max {
		t.Errorf("got %+v, want %+v (non-finite values skipped)", got, want)
	}
	if math.Abs(got.P50-1) > 0.01 || len(got.Sketch) == 0 {
		t.Errorf("p50 = %v, want 1 ± 1%%, with a sketch", got.P50)
	}
}
