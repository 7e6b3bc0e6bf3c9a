package smoke

import (
	"fmt"
	"math"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/judge"
)

// divergence compares the candidate's and production's predictions on the
// same rows (cand[i] and prod[i] answer row i), overall and per segment.
func divergence(source string, cand, prod []float64, segments []string) *modelgate.Divergence {
	d := &modelgate.Divergence{Source: source, Rows: len(cand)}
	d.CandidateMean, d.ProductionMean = mean(cand), mean(prod)
	d.MeanShift = relShift(d.CandidateMean, d.ProductionMean)
	d.Distance = judge.KSDistance(cand, prod)
	if segments == nil {
		return d
	}
	byC, byP := map[string][]float64{}, map[string][]float64{}
	for i, s := range segments {
		byC[s], byP[s] = append(byC[s], cand[i]), append(byP[s], prod[i])
	}
	d.Segments = make(map[string]modelgate.SegmentDivergence, len(byC))
	for s := range byC {
		d.Segments[s] = modelgate.SegmentDivergence{Rows: len(byC[s]), MeanShift: relShift(mean(byC[s]), mean(byP[s]))}
	}
	return d
}

func mean(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	var s float64
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}

// relShift is (c − p)/|p|, or 0 when p is 0 (no scale to measure against).
func relShift(c, p float64) float64 {
	if p == 0 || math.IsNaN(p) || math.IsNaN(c) {
		return 0
	}
	return (c - p) / math.Abs(p)
}

// divergenceWords says in plain words what a divergence shows.
func divergenceWords(d *modelgate.Divergence, what string) string {
	s := fmt.Sprintf("on %d %s the candidate forecasts %+.1f%% against production on average (distance between the forecasts %.3f)",
		d.Rows, what, 100*d.MeanShift, d.Distance)
	if seg, sh := largestSegmentShift(d); seg != "" {
		s += fmt.Sprintf("; the largest segment shift is %+.1f%% (%s)", 100*sh, seg)
	}
	return s
}

func largestSegmentShift(d *modelgate.Divergence) (string, float64) {
	name, best := "", 0.0
	for s, g := range d.Segments {
		if math.Abs(g.MeanShift) > math.Abs(best) || (math.Abs(g.MeanShift) == math.Abs(best) && s < name) {
			name, best = s, g.MeanShift
		}
	}
	return name, best
}
