package judge

import (
	"fmt"
	"math"
	"sort"

	"github.com/DataDog/sketches-go/ddsketch"
	"github.com/DataDog/sketches-go/ddsketch/store"

	"github.com/modelgate/modelgate"
)

// sample is a weighted empirical distribution: distinct values in
// increasing order with their weights. It is built from raw values (weight
// 1 each) or from a DDSketch (one point per bucket, at the bucket's
// representative value). Every statistic in this package works on samples,
// so the same code serves exact data in tests and sketches in production.
type sample struct {
	x   []float64 // distinct values, increasing
	w   []float64 // weight of each value
	cum []float64 // cum[i] = w[0] + … + w[i]
	n   float64   // total weight
}

// newSample builds a sample from raw values (which it does not modify).
func newSample(values []float64) sample {
	v := make([]float64, 0, len(values))
	for _, x := range values {
		if !math.IsNaN(x) && !math.IsInf(x, 0) {
			v = append(v, x)
		}
	}
	sort.Float64s(v)
	var s sample
	for _, x := range v {
		if k := len(s.x); k > 0 && s.x[k-1] == x {
			s.w[k-1]++
			continue
		}
		s.x = append(s.x, x)
		s.w = append(s.w, 1)
	}
	s.finish()
	return s
}

// newWeightedSample builds a sample from (value, weight) points in any order.
func newWeightedSample(x, w []float64) sample {
	idx := make([]int, len(x))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return x[idx[a]] < x[idx[b]] })
	var s sample
	for _, i := range idx {
		if w[i] <= 0 {
			continue
		}
		if k := len(s.x); k > 0 && s.x[k-1] == x[i] {
			s.w[k-1] += w[i]
			continue
		}
		s.x = append(s.x, x[i])
		s.w = append(s.w, w[i])
	}
	s.finish()
	return s
}

func (s *sample) finish() {
	s.cum = make([]float64, len(s.w))
	t := 0.0
	for i, w := range s.w {
		t += w
		s.cum[i] = t
	}
	s.n = t
}

// sketchSample decodes a DDSketch encoding into a sample.
func sketchSample(b []byte) (sample, error) {
	sk, err := ddsketch.DecodeDDSketch(b, store.DefaultProvider, nil)
	if err != nil {
		return sample{}, fmt.Errorf("decode sketch: %w", err)
	}
	var x, w []float64
	sk.ForEach(func(v, c float64) bool {
		x = append(x, v)
		w = append(w, c)
		return false
	})
	return newWeightedSample(x, w), nil
}

// distSample returns the sample behind a Distribution's sketch; ok is false
// when the distribution has no usable sketch.
func distSample(d modelgate.Distribution) (sample, bool) {
	if d.Count == 0 || len(d.Sketch) == 0 {
		return sample{}, false
	}
	s, err := sketchSample(d.Sketch)
	if err != nil || s.n == 0 {
		return sample{}, false
	}
	return s, true
}

// cdf returns the fraction of the weight at or below v.
func (s sample) cdf(v float64) float64 {
	if s.n == 0 {
		return 0
	}
	i := sort.Search(len(s.x), func(i int) bool { return s.x[i] > v })
	if i == 0 {
		return 0
	}
	return s.cum[i-1] / s.n
}

// quantile returns the smallest value whose cdf is ≥ q (the lower
// empirical quantile); q is clamped to [0, 1].
func (s sample) quantile(q float64) float64 {
	if s.n == 0 {
		return math.NaN()
	}
	q = math.Min(math.Max(q, 0), 1)
	target := q * s.n
	i := sort.Search(len(s.cum), func(i int) bool { return s.cum[i] >= target-1e-9*s.n })
	if i >= len(s.x) {
		i = len(s.x) - 1
	}
	return s.x[i]
}

// mean and std of the sample (population standard deviation).
func (s sample) meanStd() (float64, float64) {
	if s.n == 0 {
		return 0, 0
	}
	var m float64
	for i, x := range s.x {
		m += s.w[i] * x
	}
	m /= s.n
	var v float64
	for i, x := range s.x {
		v += s.w[i] * (x - m) * (x - m)
	}
	return m, math.Sqrt(v / s.n)
}

// binProportions returns the share of s's weight in each bin defined by
// increasing inner edges: bin 0 is (−∞, e0], bin i is (e(i−1), e(i)], the
// last (e(last), ∞).
func (s sample) binProportions(edges []float64) []float64 {
	p := make([]float64, len(edges)+1)
	prev := 0.0
	for i, e := range edges {
		c := s.cdf(e)
		p[i] = c - prev
		prev = c
	}
	p[len(edges)] = 1 - prev
	return p
}

// quantileEdges returns the distinct inner edges of nBins bins holding
// equal shares of s (deciles for 10 bins).
func (s sample) quantileEdges(nBins int) []float64 {
	var edges []float64
	for i := 1; i < nBins; i++ {
		e := s.quantile(float64(i) / float64(nBins))
		if len(edges) == 0 || e > edges[len(edges)-1] {
			edges = append(edges, e)
		}
	}
	return edges
}
