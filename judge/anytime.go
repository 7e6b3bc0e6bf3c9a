package judge

import (
	"math"
	"sync"

	"gonum.org/v1/gonum/mathext"
)

// Anytime-valid building blocks (statistics-and-drift.md §1). Each holds
// simultaneously over every look, so the engine may judge as often as it
// likes and stop at the first decision without inflating the error rate.
// All of them are functions of cumulative figures (counts, sketches), so a
// judge recomputes them from the window at each look and keeps no state.

// dkwA is the leading constant of the time-uniform DKW bound (confseq's
// default).
const dkwA = 0.85

// dkwEpsilon is the Howard–Ramdas (Bernoulli 2022, Thm 2) time-uniform DKW
// bound: with probability ≥ 1 − α, for every sample size t ≥ tMin at once,
// sup_x |F̂_t(x) − F(x)| ≤ A·√((log(1 + log(t/tMin)) + C_α)/t). C_α is solved
// numerically as confseq's EmpiricalProcessLILBound does. It returns 1 (no
// information) below tMin.
func dkwEpsilon(t, tMin, alpha float64) float64 {
	if tMin < 1 {
		tMin = 1
	}
	if t < tMin || t <= 0 {
		return 1
	}
	c := dkwC(alpha)
	return math.Min(1, dkwA*math.Sqrt((math.Log(1+math.Log(t/tMin))+c)/t))
}

// dkwCs memoises dkwC: a pure function of α that costs a few hundred
// thousand evaluations to solve.
var dkwCs sync.Map // float64 → float64

// dkwC returns C such that the crossing probability bound of dkwEpsilon is α.
func dkwC(alpha float64) float64 {
	if c, ok := dkwCs.Load(alpha); ok {
		return c.(float64)
	}
	lo, hi := 0.5, 200.0
	for range 100 {
		mid := (lo + hi) / 2
		if dkwError(mid) > alpha {
			lo = mid
		} else {
			hi = mid
		}
	}
	dkwCs.Store(alpha, hi)
	return hi
}

// dkwError is the bound on P(∃t: the band fails) for a given C, minimised
// over the stitching ratio η (Howard & Ramdas 2022, Thm 2, as in confseq).
func dkwError(c float64) float64 {
	// η ranges over (1, ηmax], where √(η/2) + √(2(η−1)/C) = A.
	f := func(eta float64) float64 { return math.Sqrt(eta/2) + math.Sqrt(2*(eta-1)/c) - dkwA }
	lo, hi := 1.0, 2*dkwA*dkwA
	for range 100 {
		mid := (lo + hi) / 2
		if f(mid) > 0 {
			hi = mid
		} else {
			lo = mid
		}
	}
	etaMax := lo
	best := math.Inf(1)
	const steps = 400
	for i := 1; i <= steps; i++ {
		eta := 1 + (etaMax-1)*float64(i)/steps
		g := dkwA - math.Sqrt(2*(eta-1)/c)
		g2 := 2 / eta * g * g
		if g2 <= 1 {
			continue
		}
		e := 4 * math.Exp(-g2*c) * (1 + 1/((g2-1)*math.Log(eta)))
		best = math.Min(best, e)
	}
	return best
}

// countEValue is the one-sided Lindon–Malek test on two arms' event counts
// (Lindon & Malek, NeurIPS 2022; savvi's Multinomial with two arms): given
// an event, it comes from the canary with probability θ; with no regression
// θ ≤ θ0, the canary's share of the exposure. The e-value is the Beta
// mixture likelihood ratio, the Beta(kθ0, k(1−θ0)) prior truncated to
// θ > θ0 (the canary is worse), against θ0:
//
//	E = [B(x+a, y+b)·P(θ>θ0 | x+a, y+b)] / [B(a, b)·P(θ>θ0 | a, b)] / (θ0^x (1−θ0)^y)
//
// It depends only on the cumulative counts, and under the null it is a
// nonnegative supermartingale, so rejecting when E ≥ 1/α at any look has
// level α (Ville's inequality). It returns log E.
func countEValue(x, y, theta0, k float64) float64 {
	if x+y == 0 || theta0 <= 0 || theta0 >= 1 {
		return 0
	}
	a, b := k*theta0, k*(1-theta0)
	post := logUpperBeta(x+a, y+b, theta0)
	prior := logUpperBeta(a, b, theta0)
	return post - prior - x*math.Log(theta0) - y*math.Log1p(-theta0)
}

// logUpperBeta is log ∫_θ0^1 t^(a−1) (1−t)^(b−1) dt.
func logUpperBeta(a, b, theta0 float64) float64 {
	tail := mathext.RegIncBeta(b, a, 1-theta0) // P(θ > θ0) under Beta(a, b)
	if tail <= 0 {
		return math.Inf(-1)
	}
	return lbeta(a, b) + math.Log(tail)
}

func lbeta(a, b float64) float64 {
	la, _ := math.Lgamma(a)
	lb, _ := math.Lgamma(b)
	lab, _ := math.Lgamma(a + b)
	return la + lb - lab
}

// asympCSRadius is the half-width of the two-sided asymptotic confidence
// sequence of Waudby-Smith, Arbour, Sinha, Kennedy & Ramdas for a mean of t
// observations with standard deviation sigma:
//
//	σ̂·√( 2(tρ²+1)/(t²ρ²) · log(√(tρ²+1)/α) ),  ρ² = (−2 log α + log(1 − 2 log α))/tOpt
//
// tOpt is the sample size where it is tightest; it only tunes the width.
func asympCSRadius(sigma, t, tOpt, alpha float64) float64 {
	if t <= 0 {
		return math.Inf(1)
	}
	la := math.Log(alpha)
	rho2 := (-2*la + math.Log(1-2*la)) / tOpt
	return sigma * math.Sqrt(2*(t*rho2+1)/(t*t*rho2)*math.Log(math.Sqrt(t*rho2+1)/alpha))
}

// quantileRanks returns the confidence sequence, as ranks (fractions of the
// sample), for the q-quantile of a distribution seen t times: with
// probability ≥ 1 − α at every t at once, the true quantile lies between
// the empirical quantiles at ranks lo and hi.
//
// It inverts one-sided count tests at the true quantile (Howard & Ramdas
// 2022 §4, with a Beta-mixture test instead of their beta-binomial
// boundary): the number of values at or below Q(q) is a Bernoulli(q)
// count, and the e-value of countEValue is increasing in that count, so the
// empirical cdf at every other point is covered too. Each side has α/2.
// Much narrower in the tails than the uniform DKW band, whose width ignores
// q(1−q).
func quantileRanks(q, t, alpha, k float64) (lo, hi float64) {
	if t <= 0 {
		return 0, 1
	}
	thr := math.Log(2 / alpha)
	// hi: the smallest count s with "F(x) ≤ q" rejected (so Q(q) ≤ x).
	up := func(s float64) bool { return countEValue(s, t-s, q, k) >= thr }
	// lo: the largest count s with "F(x) ≥ q" rejected (so Q(q) > x).
	down := func(s float64) bool { return countEValue(t-s, s, 1-q, k) >= thr }
	hi = 1.0
	if up(t) {
		a, b := q*t, t // up(a) is false: the count equals its null mean
		for range 60 {
			m := (a + b) / 2
			if up(m) {
				b = m
			} else {
				a = m
			}
		}
		hi = b / t
	}
	if down(0) {
		a, b := 0.0, q*t
		for range 60 {
			m := (a + b) / 2
			if down(m) {
				a = m
			} else {
				b = m
			}
		}
		lo = a / t
	}
	return lo, hi
}
