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

// A restored Dist reports the same figures and keeps accumulating as if it
// had never stopped.
func TestRestore(t *testing.T) {
	d, whole := sketch.New(), sketch.New()
	for i := range 1000 {
		d.Add(float64(i))
		whole.Add(float64(i))
	}
	r, err := sketch.Restore(d.Distribution())
	if err != nil {
		t.Fatal(err)
	}
	for i := 1000; i < 1500; i++ {
		r.Add(float64(i))
		whole.Add(float64(i))
	}
	if got, want := r.Distribution(), whole.Distribution(); got.Count != want.Count || got.Sum != want.Sum ||
		got.Min != want.Min || got.Max != want.Max || got.P95 != want.P95 || string(got.Sketch) != string(want.Sketch) {
		t.Errorf("restored and continued %+v, want %+v", got, want)
	}
	if e, err := sketch.Restore(modelgate.Distribution{}); err != nil || e.Count() != 0 {
		t.Errorf("restore of nothing: %v %v", e, err)
	}
	if _, err := sketch.Restore(modelgate.Distribution{Count: 3, Sketch: []byte{0xff}}); modelgate.ErrorCode(err) != modelgate.EINVALID {
		t.Errorf("restore of a bad sketch: %v, want EINVALID", err)
	}
}
