package judge

import (
	"math"
	"sort"

	"gonum.org/v1/gonum/stat/distuv"
)

// The drift statistics of statistics-and-drift.md §3.1, on samples (exact
// data or sketches) and bin proportions. They are effect sizes and
// fixed-sample tests; the sequential decisions are in sequential.go.

// ksD is the two-sample Kolmogorov–Smirnov statistic sup_x |F_a(x) − F_b(x)|.
// On sketches with the same index mapping both cdfs are exact at every
// bucket edge, so the result is the statistic of the bucketed data, never
// more than the exact one.
func ksD(a, b sample) float64 {
	if a.n == 0 || b.n == 0 {
		return 0
	}
	var d float64
	i, j := 0, 0
	for i < len(a.x) || j < len(b.x) {
		var v float64
		switch {
		case j >= len(b.x) || (i < len(a.x) && a.x[i] <= b.x[j]):
			v = a.x[i]
		default:
			v = b.x[j]
		}
		for i < len(a.x) && a.x[i] <= v {
			i++
		}
		for j < len(b.x) && b.x[j] <= v {
			j++
		}
		fa, fb := 0.0, 0.0
		if i > 0 {
			fa = a.cum[i-1] / a.n
		}
		if j > 0 {
			fb = b.cum[j-1] / b.n
		}
		d = math.Max(d, math.Abs(fa-fb))
	}
	return d
}

// ksPValue is the asymptotic two-sided p-value of a two-sample KS statistic
// d with sample sizes n and m: Q(λ) = 2 Σ (−1)^(j−1) exp(−2 j² λ²), with
// Stephens' correction λ = (√nₑ + 0.12 + 0.11/√nₑ)·d, nₑ = nm/(n+m). It is a
// fixed-sample figure for reports; decisions use the sequential band.
func ksPValue(d, n, m float64) float64 {
	if n <= 0 || m <= 0 {
		return 1
	}
	ne := n * m / (n + m)
	lambda := (math.Sqrt(ne) + 0.12 + 0.11/math.Sqrt(ne)) * d
	return kolmogorovQ(lambda)
}

// kolmogorovQ is the survival function of the Kolmogorov distribution.
func kolmogorovQ(lambda float64) float64 {
	if lambda < 0.2 {
		return 1
	}
	var sum float64
	for j := 1; j <= 100; j++ {
		term := math.Exp(-2 * float64(j*j) * lambda * lambda)
		if j%2 == 1 {
			sum += term
		} else {
			sum -= term
		}
		if term < 1e-16 {
			break
		}
	}
	return math.Min(math.Max(2*sum, 0), 1)
}

// psiFloor replaces empty bins' proportions in PSI and the log terms of JS,
// as Evidently does (1e-4).
const psiFloor = 1e-4

// psi is the population stability index Σ (q − p)·ln(q/p) of current
// proportions q against reference proportions p.
func psi(p, q []float64) float64 {
	var s float64
	for i := range p {
		pi, qi := math.Max(p[i], psiFloor), math.Max(q[i], psiFloor)
		s += (qi - pi) * math.Log(qi/pi)
	}
	return s
}

// jsDistance is the Jensen–Shannon distance √JSD in nats (scipy's
// jensenshannon with its default base), in [0, √ln 2].
func jsDistance(p, q []float64) float64 {
	p, q = normalise(p), normalise(q)
	var js float64
	for i := range p {
		m := (p[i] + q[i]) / 2
		if p[i] > 0 {
			js += p[i] * math.Log(p[i]/m) / 2
		}
		if q[i] > 0 {
			js += q[i] * math.Log(q[i]/m) / 2
		}
	}
	return math.Sqrt(math.Max(js, 0))
}

func normalise(p []float64) []float64 {
	var t float64
	for _, v := range p {
		t += v
	}
	out := make([]float64, len(p))
	if t == 0 {
		return out
	}
	for i, v := range p {
		out[i] = v / t
	}
	return out
}

// wasserstein is the 1-Wasserstein distance ∫ |F_a − F_b| dx.
func wasserstein(a, b sample) float64 {
	if a.n == 0 || b.n == 0 {
		return 0
	}
	pts := make([]float64, 0, len(a.x)+len(b.x))
	pts = append(append(pts, a.x...), b.x...)
	sort.Float64s(pts)
	var w float64
	for i := 0; i+1 < len(pts); i++ {
		if pts[i+1] == pts[i] {
			continue
		}
		w += math.Abs(a.cdf(pts[i])-b.cdf(pts[i])) * (pts[i+1] - pts[i])
	}
	return w
}

// chiSquare is Pearson's goodness-of-fit statistic of observed counts
// against expected proportions, and its p-value with len−1 degrees of
// freedom. Expected proportions below psiFloor are raised to it.
func chiSquare(observed, expected []float64) (stat, p float64) {
	var n float64
	for _, o := range observed {
		n += o
	}
	if n == 0 || len(observed) < 2 {
		return 0, 1
	}
	exp := normalise(expected)
	for i := range exp {
		exp[i] = math.Max(exp[i], psiFloor)
	}
	exp = normalise(exp)
	for i, o := range observed {
		e := exp[i] * n
		stat += (o - e) * (o - e) / e
	}
	return stat, distuv.ChiSquared{K: float64(len(observed) - 1)}.Survival(stat)
}

// lInf is max_i |p_i − q_i| over proportions.
func lInf(p, q []float64) float64 {
	p, q = normalise(p), normalise(q)
	var d float64
	for i := range p {
		d = math.Max(d, math.Abs(p[i]-q[i]))
	}
	return d
}

// KSDistance is the exact two-sample Kolmogorov–Smirnov distance between
// two sets of values (NaN and ±Inf left out): the largest gap between their
// empirical distribution functions.
func KSDistance(a, b []float64) float64 { return ksD(newSample(a), newSample(b)) }
