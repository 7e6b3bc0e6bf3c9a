package judge

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/modelgate/modelgate"
)

// distComparison is the canary-vs-production comparison of one quantity.
type distComparison struct {
	metric  string             // which distance d is
	d, band float64            // the distance and its simultaneous half-width
	noise   float64            // the distance two samples of one distribution show by chance (about)
	figures map[string]float64 // effect sizes
	ok      bool               // both arms have data to compare
}

// compareArms compares two arms' distributions of one quantity (numeric by
// sketch, categorical by counts) with a time-uniform band at alpha.
func (s Sequential) compareArms(c, p modelgate.Distribution, alpha float64) distComparison {
	tMin := float64(max(s.MinRequests, 1))
	if len(c.Counts) > 0 || len(p.Counts) > 0 {
		cats := categories(c.Counts, p.Counts)
		qc, qp := shares(c.Counts, cats), shares(p.Counts, cats)
		nc, np := total(c.Counts), total(p.Counts)
		if nc == 0 || np == 0 {
			return distComparison{}
		}
		d := lInf(qc, qp)
		band := 2 * (dkwEpsilon(nc, tMin, alpha/2) + dkwEpsilon(np, tMin, alpha/2))
		chi, pv := chiSquare(counts(c.Counts, cats), qp)
		return distComparison{metric: "largest change of a class's share", d: d, band: band, noise: 0.5 * math.Sqrt(1/nc+1/np), ok: true,
			figures: map[string]float64{"linf": d, "chi2": chi, "chi2_p": pv, "js": jsDistance(qp, qc), "psi": psi(qp, qc)}}
	}
	sc, okc := distSample(c)
	sp, okp := distSample(p)
	if !okc || !okp {
		return distComparison{}
	}
	d := ksD(sc, sp)
	band := dkwEpsilon(sc.n, tMin, alpha/2) + dkwEpsilon(sp.n, tMin, alpha/2)
	f := numericFigures(sp, sc, s.DriftBins)
	f["ks_d"] = d
	f["ks_p"] = ksPValue(d, sc.n, sp.n)
	// 0.87 is the mean of the Kolmogorov distribution.
	return distComparison{metric: "Kolmogorov–Smirnov", d: d, band: band, noise: 0.87 * math.Sqrt(1/sc.n+1/sp.n), ok: true, figures: f}
}

// numericFigures are the effect sizes of cur against ref: PSI and
// Jensen–Shannon distance on ref's quantile bins, Wasserstein-1 divided by
// ref's standard deviation (floor 0.001, as Evidently).
func numericFigures(ref, cur sample, bins int) map[string]float64 {
	edges := ref.quantileEdges(max(bins, 2))
	pr, pc := ref.binProportions(edges), cur.binProportions(edges)
	_, sd := ref.meanStd()
	return map[string]float64{
		"psi":              psi(pr, pc),
		"js":               jsDistance(pr, pc),
		"wasserstein_norm": wasserstein(ref, cur) / math.Max(sd, 0.001),
	}
}

func figureText(f map[string]float64) string {
	keys := make([]string, 0, len(f))
	for k := range f {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %.4g", k, f[k])
	}
	return strings.Join(parts, ", ")
}
