package main

import (
	"math"
	"math/rand/v2"
	"sort"
	"sync"
	"time"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/judge"
	"github.com/modelgate/modelgate/sketch"
)

// simConfig is one simulated canary: traffic, the two arms' behaviour and
// how often each judge looks.
type simConfig struct {
	Window       time.Duration `json:"window"`
	Interval     time.Duration `json:"interval"`       // sequential judge's look interval (the engine's canary.interval)
	NaiveEvery   time.Duration `json:"naive_interval"` // naive judges' look interval
	RPS          int           `json:"rps"`
	CanaryShare  float64       `json:"canary_share"`
	ErrorRate    float64       `json:"error_rate"`        // production's
	CanaryErrors float64       `json:"canary_error_rate"` // canary's
	LatencyMed   float64       `json:"latency_median_ms"`
	LatencySigma float64       `json:"latency_sigma"` // log-normal shape
	CanaryP95Add float64       `json:"canary_p95_add_ms"`
	PredMean     float64       `json:"prediction_mean"`
	PredSD       float64       `json:"prediction_sd"`
	CanaryShift  float64       `json:"canary_prediction_shift_sd"`
	// A retrain: the canary's predictions correlate Correlation with
	// production's on the same request and sit RelShift (relative) apart.
	Correlation float64 `json:"canary_prediction_correlation"`
	RelShift    float64 `json:"canary_prediction_relative_shift"`
	// A live shift on a segment: on SegmentShare of the requests the
	// canary forecasts SegmentFactor times production's.
	SegmentShare  float64 `json:"segment_share"`
	SegmentFactor float64 `json:"segment_factor"`
	// Mirror is the share of production's requests also sent to the
	// canary, whose answer is only compared (the local gateway's mirroring).
	Mirror float64 `json:"mirror"`
	// Expected is what staging showed, when the scenario has it.
	Expected *modelgate.Expectation `json:"expected,omitempty"`
}

// runResult is what each judge decided in one simulated canary.
type runResult struct {
	Seq       modelgate.Decision // sequential judge's decision (rollback at first failure, else the final look's)
	SeqAt     time.Duration      // when it rolled back
	SeqChecks []string           // checks that failed at the rollback, or held at the end
	Naive     bool               // judge.Thresholds rolled back at some per-interval look
	NaiveAt   time.Duration
	ZTest     bool // one-sided two-proportion z-test on error rates at α, at every naive look
	ZTestAt   time.Duration
}

type arm struct {
	requests, errors int64
	latency, preds   *sketch.Dist
	paired           *modelgate.Paired
}

func newArm() *arm { return &arm{latency: sketch.New(), preds: sketch.New()} }

func (a *arm) stats(version string) modelgate.RevisionStats {
	s := modelgate.RevisionStats{Version: version, Requests: a.requests, Errors: a.errors, LatencyMS: a.latency.Distribution(), Predictions: a.preds.Distribution()}
	if a.paired != nil {
		p := *a.paired
		s.Paired = &p
	}
	return s
}

// predictions returns production's and the canary's prediction for one
// request: the request is a standard normal input z and, for the segment
// scenario, whether it falls in the shifted segment.
func (c simConfig) predictions(r *rand.Rand) (prod, canary float64) {
	z := r.NormFloat64()
	prod = c.PredMean + c.PredSD*z
	zc := z
	if c.Correlation > 0 && c.Correlation < 1 {
		zc = c.Correlation*z + math.Sqrt(1-c.Correlation*c.Correlation)*r.NormFloat64()
	}
	canary = c.PredMean*(1+c.RelShift) + c.PredSD*(zc+c.CanaryShift)
	if c.SegmentShare > 0 && r.Float64() < c.SegmentShare {
		canary *= c.SegmentFactor
	}
	return prod, canary
}

// simulate runs one canary. Requests are simulated one by one (routing,
// error, latency, prediction), because the sketches need the values; the
// judges see cumulative figures at their looks, as the engine does.
func simulate(c simConfig, seq judge.Sequential, naive judge.Thresholds, zAlpha float64, seed, run uint64) runResult {
	r := rand.New(rand.NewPCG(seed, run))
	prod, can := newArm(), newArm()
	if c.Mirror > 0 {
		can.paired = &modelgate.Paired{}
	}
	mu := math.Log(c.LatencyMed)
	q50 := c.LatencyMed
	q95 := c.LatencyMed * math.Exp(1.6448536269514722*c.LatencySigma)
	seconds := int(c.Window / time.Second)
	every := max(int(c.Interval/time.Second), 1)
	naiveEvery := max(int(c.NaiveEvery/time.Second), 1)
	zCrit := normalQuantile(1 - zAlpha)
	res := runResult{}
	seqDone := false
	for s := 1; s <= seconds; s++ {
		for range c.RPS {
			a, pErr, canary := prod, c.ErrorRate, false
			if r.Float64() < c.CanaryShare {
				a, pErr, canary = can, c.CanaryErrors, true
			}
			a.requests++
			lat := math.Exp(mu + c.LatencySigma*r.NormFloat64())
			if canary && c.CanaryP95Add != 0 {
				// Quantile map: p50 unchanged, +add at p95 and above,
				// linear in between.
				lat += c.CanaryP95Add * math.Min(math.Max((lat-q50)/(q95-q50), 0), 1)
			}
			a.latency.Add(lat)
			if r.Float64() < pErr {
				a.errors++
				continue
			}
			prod, cand := c.predictions(r)
			if canary {
				a.preds.Add(cand)
				continue
			}
			a.preds.Add(prod)
			if c.Mirror > 0 && r.Float64() < c.Mirror {
				can.paired.Add(cand, prod)
			}
		}
		elapsed := time.Duration(s) * time.Second
		final := s == seconds
		if !seqDone && (s%every == 0 || final) {
			w := &modelgate.Window{Stable: prod.stats("v1"), Canary: can.stats("v2"), Expected: c.Expected}
			j := seq.Judge(w, modelgate.Progress{Elapsed: elapsed, Window: c.Window, Final: final})
			if j.Decision != modelgate.DecisionContinue {
				seqDone = true
				res.Seq, res.SeqAt = j.Decision, elapsed
				for _, ch := range j.Checks {
					if ch.Verdict == modelgate.VerdictFail || ch.Verdict == modelgate.VerdictInconclusive {
						res.SeqChecks = append(res.SeqChecks, ch.Name)
					}
				}
			}
		}
		if s%naiveEvery == 0 || final {
			if !res.Naive {
				w := &modelgate.Window{Stable: prod.stats("v1"), Canary: can.stats("v2")}
				if naive.Judge(w, modelgate.Progress{Elapsed: elapsed, Window: c.Window, Final: final}).Decision == modelgate.DecisionRollback {
					res.Naive, res.NaiveAt = true, elapsed
				}
			}
			if !res.ZTest && zStat(can, prod) > zCrit {
				res.ZTest, res.ZTestAt = true, elapsed
			}
		}
	}
	return res
}

// zStat is the pooled two-proportion z statistic, canary minus production.
func zStat(c, p *arm) float64 {
	if c.requests == 0 || p.requests == 0 {
		return 0
	}
	nc, np := float64(c.requests), float64(p.requests)
	pool := float64(c.errors+p.errors) / (nc + np)
	se := math.Sqrt(pool * (1 - pool) * (1/nc + 1/np))
	if se == 0 {
		return 0
	}
	return (float64(c.errors)/nc - float64(p.errors)/np) / se
}

// normalQuantile inverts the standard normal cdf by bisection on math.Erfc.
func normalQuantile(p float64) float64 {
	lo, hi := -10.0, 10.0
	for range 100 {
		mid := (lo + hi) / 2
		if 0.5*math.Erfc(-mid/math.Sqrt2) < p {
			lo = mid
		} else {
			hi = mid
		}
	}
	return (lo + hi) / 2
}

// runBatch simulates runs canaries on workers goroutines; run i always uses
// the random stream (seed, i), so results do not depend on scheduling.
func runBatch(c simConfig, seq judge.Sequential, naive judge.Thresholds, zAlpha float64, seed uint64, runs, workers int) []runResult {
	out := make([]runResult, runs)
	var wg sync.WaitGroup
	next := make(chan int)
	for range max(workers, 1) {
		wg.Go(func() {
			for i := range next {
				out[i] = simulate(c, seq, naive, zAlpha, seed, uint64(i))
			}
		})
	}
	for i := range runs {
		next <- i
	}
	close(next)
	wg.Wait()
	return out
}

// summary is one scenario's outcome over all runs.
type summary struct {
	Scenario      string         `json:"scenario"`
	Runs          int            `json:"runs"`
	Rollback      rate           `json:"sequential_rollback"`
	Promote       float64        `json:"sequential_promote"`
	Hold          float64        `json:"sequential_hold"`
	DetectMinutes *quantiles     `json:"sequential_minutes_to_rollback,omitempty"`
	FailedChecks  map[string]int `json:"sequential_failed_checks"`
	HeldChecks    map[string]int `json:"sequential_held_checks"`
	Naive         rate           `json:"thresholds_every_look_rollback"`
	NaiveMinutes  *quantiles     `json:"thresholds_minutes_to_rollback,omitempty"`
	ZTest         rate           `json:"ztest_every_look_rollback"`
	ZTestMinutes  *quantiles     `json:"ztest_minutes_to_rollback,omitempty"`
}

// rate is a proportion with its 95% Wilson interval.
type rate struct {
	K    int     `json:"count"`
	P    float64 `json:"rate"`
	Low  float64 `json:"ci95_low"`
	High float64 `json:"ci95_high"`
}

func newRate(k, n int) rate {
	if n == 0 {
		return rate{}
	}
	p := float64(k) / float64(n)
	z := 1.959963984540054
	nn := float64(n)
	den := 1 + z*z/nn
	mid := (p + z*z/(2*nn)) / den
	half := z * math.Sqrt(p*(1-p)/nn+z*z/(4*nn*nn)) / den
	return rate{K: k, P: p, Low: math.Max(mid-half, 0), High: math.Min(mid+half, 1)}
}

type quantiles struct {
	N      int     `json:"n"`
	Min    float64 `json:"min"`
	P10    float64 `json:"p10"`
	P25    float64 `json:"p25"`
	Median float64 `json:"median"`
	P75    float64 `json:"p75"`
	P90    float64 `json:"p90"`
	P95    float64 `json:"p95"`
	Max    float64 `json:"max"`
	Mean   float64 `json:"mean"`
}

func quantilesOf(v []float64) *quantiles {
	if len(v) == 0 {
		return nil
	}
	sort.Float64s(v)
	q := func(p float64) float64 { return v[int(math.Ceil(p*float64(len(v))))-1] }
	var sum float64
	for _, x := range v {
		sum += x
	}
	return &quantiles{N: len(v), Min: v[0], P10: q(0.10), P25: q(0.25), Median: q(0.5), P75: q(0.75), P90: q(0.9), P95: q(0.95), Max: v[len(v)-1], Mean: sum / float64(len(v))}
}

func summarise(name string, rs []runResult) summary {
	s := summary{Scenario: name, Runs: len(rs), FailedChecks: map[string]int{}, HeldChecks: map[string]int{}}
	var seqT, naiveT, zT []float64
	var rb, pr, ho, nv, zt int
	for _, r := range rs {
		switch r.Seq {
		case modelgate.DecisionRollback:
			rb++
			seqT = append(seqT, r.SeqAt.Minutes())
			for _, c := range r.SeqChecks {
				s.FailedChecks[c]++
			}
		case modelgate.DecisionPromote:
			pr++
		case modelgate.DecisionHold:
			ho++
			for _, c := range r.SeqChecks {
				s.HeldChecks[c]++
			}
		}
		if r.Naive {
			nv++
			naiveT = append(naiveT, r.NaiveAt.Minutes())
		}
		if r.ZTest {
			zt++
			zT = append(zT, r.ZTestAt.Minutes())
		}
	}
	n := float64(len(rs))
	s.Rollback, s.Promote, s.Hold = newRate(rb, len(rs)), float64(pr)/n, float64(ho)/n
	s.DetectMinutes, s.Naive, s.NaiveMinutes = quantilesOf(seqT), newRate(nv, len(rs)), quantilesOf(naiveT)
	s.ZTest, s.ZTestMinutes = newRate(zt, len(rs)), quantilesOf(zT)
	return s
}
