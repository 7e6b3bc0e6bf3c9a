package sketch

import (
	"math"
	"testing"
)

func TestDiff_TheValuesInBetween(t *testing.T) {
	d := New()
	for i := 1; i <= 1000; i++ {
		d.Add(float64(i)) // 1..1000 ms
	}
	before := d.Distribution()
	for range 1000 {
		d.Add(5000) // a regression: everything after takes 5 s
	}
	got, err := Diff(d.Distribution(), before)
	if err != nil {
		t.Fatal(err)
	}
	if got.Count != 1000 || math.Abs(got.P95-5000) > 50 || math.Abs(got.Mean()-5000) > 1e-6 {
		t.Errorf("diff: count %d p95 %.1f mean %.1f; want 1000 values of 5000", got.Count, got.P95, got.Mean())
	}
	if got.Min < 4900 {
		t.Errorf("min %.1f: the earlier values leaked into the difference", got.Min)
	}
}

func TestDiff_RestartAndNoChange(t *testing.T) {
	a := New()
	for i := range 100 {
		a.Add(float64(i))
	}
	b := New()
	b.Add(7)
	got, err := Diff(b.Distribution(), a.Distribution())
	if err != nil || got.Count != 1 {
		t.Errorf("a restarted stream: count %d, %v; want the newer figures whole", got.Count, err)
	}
	got, err = Diff(a.Distribution(), a.Distribution())
	if err != nil || got.Count != 0 {
		t.Errorf("nothing new: count %d, %v", got.Count, err)
	}
	older := a.Distribution()
	a.Add(1)
	newer := a.Distribution()
	newer.Sketch = nil
	if _, err := Diff(newer, older); err == nil {
		t.Error("figures without a sketch: want an error")
	}
}
