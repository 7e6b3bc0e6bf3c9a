package smoke

import (
	"math"
	"sort"
)

// Tasks of an Evaluation.
const (
	TaskRegression     = "regression"     // forecasts and regression: mae, rmse, mape, wape, bias, r2
	TaskClassification = "classification" // binary classifiers: accuracy, f1, auc
)

// lowerIsBetter and higherIsBetter list the metrics compared with the
// training run and production; bias is reported, not compared (its sign
// carries the meaning, and 0 is its best value).
var (
	lowerIsBetter  = []string{"mae", "rmse", "mape", "wape"}
	higherIsBetter = []string{"r2", "accuracy", "f1", "auc"}
)

// Metrics computes the forecast metrics the example logs at training:
// mae, rmse, mape (rows with y≠0), wape = Σ|y−ŷ|/Σ|y|, bias = mean(ŷ−y),
// and r2 = 1 − Σ(y−ŷ)²/Σ(y−ȳ)².
func Metrics(y, yhat []float64) map[string]float64 {
	var abs, sq, ape, sumY, absY, bias float64
	nAPE := 0
	for i := range y {
		d := yhat[i] - y[i]
		abs += math.Abs(d)
		sq += d * d
		bias += d
		sumY += y[i]
		absY += math.Abs(y[i])
		if y[i] != 0 {
			ape += math.Abs(d) / math.Abs(y[i])
			nAPE++
		}
	}
	n := float64(len(y))
	mean := sumY / n
	var tot float64
	for _, v := range y {
		tot += (v - mean) * (v - mean)
	}
	r2 := math.NaN()
	if tot > 0 {
		r2 = 1 - sq/tot
	}
	return map[string]float64{
		"mae": abs / n, "rmse": math.Sqrt(sq / n), "mape": ape / float64(max(nAPE, 1)), "wape": abs / absY, "bias": bias / n,
		"r2": r2,
	}
}

// ClassificationMetrics computes accuracy and F1 (of the positive class,
// label 1) with score ≥ threshold as positive, and the ROC AUC of the scores
// (ties counted half; NaN when one class is absent). Labels are 0 or 1.
func ClassificationMetrics(y, score []float64, threshold float64) map[string]float64 {
	var tp, fp, fn, correct float64
	for i := range y {
		pos, actual := score[i] >= threshold, y[i] >= 0.5
		switch {
		case pos && actual:
			tp++
		case pos && !actual:
			fp++
		case !pos && actual:
			fn++
		}
		if pos == actual {
			correct++
		}
	}
	f1 := 0.0
	if tp > 0 {
		f1 = 2 * tp / (2*tp + fp + fn)
	}
	return map[string]float64{"accuracy": correct / float64(len(y)), "f1": f1, "auc": auc(y, score)}
}

// auc is the Mann-Whitney estimate of the ROC AUC.
func auc(y, score []float64) float64 {
	idx := make([]int, len(y))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return score[idx[a]] < score[idx[b]] })
	var rankSum, nPos float64
	for i := 0; i < len(idx); {
		j := i
		for j < len(idx) && score[idx[j]] == score[idx[i]] {
			j++
		}
		rank := float64(i+j+1) / 2 // average 1-based rank of the tie group
		for k := i; k < j; k++ {
			if y[idx[k]] >= 0.5 {
				rankSum += rank
				nPos++
			}
		}
		i = j
	}
	nNeg := float64(len(y)) - nPos
	if nPos == 0 || nNeg == 0 {
		return math.NaN()
	}
	return (rankSum - nPos*(nPos+1)/2) / (nPos * nNeg)
}
