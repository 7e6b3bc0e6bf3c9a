package smoke

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"

	"modelgate"
	"modelgate/inference"
	"modelgate/promotion"
)

// Evaluation is the ground-truth gate: the data set goes through the staging
// endpoint and the accuracy must match or beat the training run's metrics.
type Evaluation struct {
	Dataset   string  // CSV file: raw request fields plus the target column
	Target    string  // target column; default "units_sold"
	BatchSize int     // instances per request; default 100
	Tolerance float64 // relative slack on "match or exceed"; default 0.01
	Client    inference.Client
}

var _ promotion.Gate = (*Evaluation)(nil)

// Name implements promotion.Gate.
func (e *Evaluation) Name() string { return "evaluation" }

// errorMetrics are the metrics where lower is better, compared with the
// training run's values.
var errorMetrics = []string{"mae", "rmse", "mape", "wape"}

// Check implements promotion.Gate.
func (e *Evaluation) Check(ctx context.Context, ep modelgate.Endpoint, c promotion.Candidate) (promotion.GateResult, error) {
	rows, ys, err := readDataset(e.Dataset, e.target())
	if err != nil {
		return promotion.GateResult{}, err
	}
	preds, err := e.predictAll(ctx, ep, rows)
	if err != nil {
		return promotion.GateResult{}, err
	}
	got := Metrics(ys, preds)
	tol := e.Tolerance
	if tol == 0 {
		tol = 0.01
	}
	var failures []string
	for _, name := range errorMetrics {
		logged, ok := c.Metrics[name]
		if !ok {
			continue
		}
		if got[name] > logged*(1+tol)+1e-12 {
			failures = append(failures, fmt.Sprintf("%s on %s is %.6g, worse than the %.6g logged at training (tolerance %.1f%%)", name, e.Dataset, got[name], logged, 100*tol))
		}
	}
	summary := fmt.Sprintf("%d rows: mae %.4g, rmse %.4g, wape %.4g, bias %.4g", len(ys), got["mae"], got["rmse"], got["wape"], got["bias"])
	return promotion.GateResult{Passed: len(failures) == 0, Summary: summary, Failures: failures,
		Evidence: map[string]any{"rows": len(ys), "metrics": got, "logged": c.Metrics, "tolerance": tol}}, nil
}

func (e *Evaluation) target() string {
	if e.Target == "" {
		return "units_sold"
	}
	return e.Target
}

func (e *Evaluation) predictAll(ctx context.Context, ep modelgate.Endpoint, rows []any) ([]float64, error) {
	size := orDefault(e.BatchSize, 100)
	preds := make([]float64, 0, len(rows))
	for i := 0; i < len(rows); i += size {
		batch := rows[i:min(i+size, len(rows))]
		res, err := e.Client.Predict(ctx, ep, batch)
		if err != nil {
			return nil, err
		}
		if res.Status != 200 || len(res.Predictions) != len(batch) {
			return nil, modelgate.Errorf(modelgate.EINVALID, "evaluation batch at row %d: status %d with %d predictions for %d rows: %.200s", i+1, res.Status, len(res.Predictions), len(batch), res.Body)
		}
		preds = append(preds, res.Predictions...)
	}
	return preds, nil
}

// readDataset reads a CSV into V1 instances (numbers where a field parses as
// one, strings otherwise) and the target values.
func readDataset(path, target string) ([]any, []float64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, modelgate.Errorf(modelgate.EINVALID, "cannot open the evaluation data set: %v", err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	header, err := r.Read()
	if err != nil {
		return nil, nil, modelgate.Errorf(modelgate.EINVALID, "evaluation data set %s has no header: %v", path, err)
	}
	ti := indexOf(header, target)
	if ti < 0 {
		return nil, nil, modelgate.Errorf(modelgate.EINVALID, "evaluation data set %s has no target column %q (columns: %v)", path, target, header)
	}
	var rows []any
	var ys []float64
	for line := 2; ; line++ {
		rec, err := r.Read()
		if err == io.EOF {
			break
		} else if err != nil {
			return nil, nil, modelgate.Errorf(modelgate.EINVALID, "evaluation data set %s line %d: %v", path, line, err)
		}
		y, err := strconv.ParseFloat(rec[ti], 64)
		if err != nil {
			return nil, nil, modelgate.Errorf(modelgate.EINVALID, "evaluation data set %s line %d: target %q is not a number", path, line, rec[ti])
		}
		rows, ys = append(rows, instance(header, rec, ti)), append(ys, y)
	}
	return rows, ys, nil
}

func instance(header, rec []string, skip int) map[string]any {
	m := make(map[string]any, len(header)-1)
	for i, h := range header {
		if i == skip {
			continue
		}
		if v, err := strconv.ParseFloat(rec[i], 64); err == nil {
			m[h] = v
		} else {
			m[h] = rec[i]
		}
	}
	return m
}

func indexOf(xs []string, s string) int {
	for i, x := range xs {
		if x == s {
			return i
		}
	}
	return -1
}

// Metrics computes the forecast metrics the example logs at training:
// mae, rmse, mape (rows with y≠0), wape = Σ|y−ŷ|/Σ|y|, bias = mean(ŷ−y).
func Metrics(y, yhat []float64) map[string]float64 {
	var abs, sq, ape, sumY, bias float64
	nAPE := 0
	for i := range y {
		d := yhat[i] - y[i]
		abs += math.Abs(d)
		sq += d * d
		bias += d
		sumY += math.Abs(y[i])
		if y[i] != 0 {
			ape += math.Abs(d) / math.Abs(y[i])
			nAPE++
		}
	}
	n := float64(len(y))
	return map[string]float64{
		"mae": abs / n, "rmse": math.Sqrt(sq / n), "mape": ape / float64(max(nAPE, 1)), "wape": abs / sumY, "bias": bias / n,
	}
}
