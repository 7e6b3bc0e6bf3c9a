package smoke

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"sort"
	"time"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/inference"
	"github.com/modelgate/modelgate/wire"
)

// Evaluation is the ground-truth gate: the data set goes through the staging
// endpoint in batches and the metrics, overall and per segment, must match
// or beat those logged on the version's training run and, when Production
// is set, production's on the same data.
type Evaluation struct {
	// Dataset is a CSV or Parquet (.parquet) file of raw request fields plus
	// the target column, or "artifact:<path>" for a file of the version's
	// verified registry artifact.
	Dataset   string
	Target    string  // target column; default "units_sold"
	Segment   string  // column to report metrics per value of (e.g. store_id); "" for none
	Task      string  // TaskRegression (default) or TaskClassification
	Threshold float64 // classification: score ≥ Threshold is positive; default 0.5
	BatchSize int     // instances per request; default 100
	Tolerance float64 // relative slack on "match or exceed"; default 0.01
	Protocol  string  // ProtocolV1 (default) or ProtocolV2
	// Production finds production's endpoint (modelgate.Deployer does);
	// nil skips the comparison with production.
	Production ProductionFinder
	Client     inference.Client
}

// ProductionFinder is the part of modelgate.Deployer the evaluation needs
// to send the same data through production.
type ProductionFinder interface {
	Traffic(ctx context.Context, model string) (modelgate.TrafficSplit, error)
	Production(ctx context.Context, model string) (modelgate.Endpoint, error)
}

var _ modelgate.Gate = (*Evaluation)(nil)

// Name implements modelgate.Gate.
func (e *Evaluation) Name() string { return "evaluation" }

// EvaluationEvidence is the evaluation gate's evidence.
type EvaluationEvidence struct {
	Dataset       string                        `json:"dataset"`
	Protocol      string                        `json:"protocol"`
	Rows          int                           `json:"rows"`
	Seconds       float64                       `json:"seconds"`
	RowsPerSecond float64                       `json:"rows_per_second"`
	Metrics       map[string]float64            `json:"metrics"`
	Segments      map[string]map[string]float64 `json:"segments,omitempty"`
	Logged        map[string]float64            `json:"logged"`
	Production    *ProductionResult             `json:"production,omitempty"`
	Tolerance     float64                       `json:"tolerance"`
	Checks        []Check                       `json:"checks"`
}

// ProductionResult is production's result on the same data.
type ProductionResult struct {
	Version  string                        `json:"version"`
	Metrics  map[string]float64            `json:"metrics"`
	Segments map[string]map[string]float64 `json:"segments,omitempty"`
}

// Check implements modelgate.Gate.
func (e *Evaluation) Check(ctx context.Context, ep modelgate.Endpoint, c modelgate.Candidate) (modelgate.GateResult, error) {
	if t := e.task(); t != TaskRegression && t != TaskClassification {
		return modelgate.GateResult{}, modelgate.Errorf(modelgate.EINVALID, "evaluation task %q: expected regression or classification", t)
	}
	path, err := resolveDataset(e.Dataset, c.Dir)
	if err != nil {
		return modelgate.GateResult{}, err
	}
	ds, err := readDataset(path, e.target(), e.Segment)
	if err != nil {
		return modelgate.GateResult{}, err
	}
	start := time.Now()
	preds, err := e.PredictAll(ctx, ep, ds.rows)
	if err != nil {
		return modelgate.GateResult{}, err
	}
	secs := time.Since(start).Seconds()
	ev := EvaluationEvidence{
		Dataset: filepath.Base(path), Protocol: e.protocol(), Rows: len(ds.y), Seconds: secs, RowsPerSecond: float64(len(ds.y)) / secs,
		Logged: c.Metrics, Tolerance: e.tolerance(),
	}
	ev.Metrics, ev.Segments = e.metrics(ds, preds)
	prodPreds, err := e.production(ctx, c, ds, &ev)
	if err != nil {
		return modelgate.GateResult{}, err
	}
	ev.Checks = e.compare("logged", c.Metrics, ev.Metrics)
	var div *modelgate.Divergence
	if ev.Production != nil {
		ev.Checks = append(ev.Checks, e.compare("production version "+ev.Production.Version, ev.Production.Metrics, ev.Metrics)...)
		div = divergence("evaluation", preds, prodPreds, ds.segments)
		div.Accuracy = e.accuracy(ev)
	}
	fails := failures(ev.Checks)
	r, err := result(len(fails) == 0, e.summary(ev, div), fails, ev)
	r.Divergence = div
	return r, err
}

// accuracy compares both versions on the ground truth by the task's
// headline metric; the candidate is at least as good within the tolerance.
func (e *Evaluation) accuracy(ev EvaluationEvidence) *modelgate.AccuracyComparison {
	a := &modelgate.AccuracyComparison{Metric: "mae", LowerIsBetter: true}
	if e.task() == TaskClassification {
		a.Metric, a.LowerIsBetter = "auc", false
	}
	a.Candidate, a.Production = ev.Metrics[a.Metric], ev.Production.Metrics[a.Metric]
	tol := e.tolerance() * math.Abs(a.Production)
	if a.LowerIsBetter {
		a.AtLeastAsGood = a.Candidate <= a.Production+tol
	} else {
		a.AtLeastAsGood = a.Candidate >= a.Production-tol
	}
	return a
}

func (e *Evaluation) summary(ev EvaluationEvidence, div *modelgate.Divergence) string {
	m := ev.Metrics
	s := fmt.Sprintf("%d rows over %s at %.0f rows/s", ev.Rows, ev.Protocol, ev.RowsPerSecond)
	if e.task() == TaskClassification {
		s += fmt.Sprintf(": accuracy %.4g, f1 %.4g, auc %.4g", m["accuracy"], m["f1"], m["auc"])
	} else {
		s += fmt.Sprintf(": mae %.4g, rmse %.4g, wape %.4g, bias %.4g, r2 %.4g", m["mae"], m["rmse"], m["wape"], m["bias"], m["r2"])
	}
	if w, name := worstSegment(ev.Segments, e.task()); name != "" {
		s += fmt.Sprintf("; worst %s %s (%s)", e.Segment, name, w)
	}
	if ev.Production != nil {
		s += fmt.Sprintf("; production version %s on the same data: %s", ev.Production.Version, headline(ev.Production.Metrics, e.task()))
	}
	if div != nil {
		s += "; " + divergenceWords(div, "labelled rows")
	}
	return s
}

func headline(m map[string]float64, task string) string {
	if task == TaskClassification {
		return fmt.Sprintf("auc %.4g", m["auc"])
	}
	return fmt.Sprintf("mae %.4g, wape %.4g", m["mae"], m["wape"])
}

// worstSegment names the segment with the highest wape (lowest auc).
func worstSegment(segs map[string]map[string]float64, task string) (string, string) {
	key, sign := "wape", 1.0
	if task == TaskClassification {
		key, sign = "auc", -1
	}
	best, name := math.Inf(-1), ""
	for s, m := range segs {
		if v := sign * m[key]; v > best || (v == best && s < name) {
			best, name = v, s
		}
	}
	if name == "" {
		return "", ""
	}
	return fmt.Sprintf("%s %.4g", key, segs[name][key]), name
}

// compare checks every metric computed and present in ref: lower-is-better
// metrics may exceed ref by the tolerance, higher-is-better ones fall short
// of it by the tolerance.
func (e *Evaluation) compare(against string, ref, got map[string]float64) []Check {
	tol := e.tolerance()
	var checks []Check
	add := func(name string, higher bool) {
		r, ok := ref[name]
		g, have := got[name]
		if !ok || !have || math.IsNaN(r) || math.IsNaN(g) {
			return
		}
		c := Check{Name: "evaluation " + name + " vs " + against, Observed: fmt.Sprintf("%.6g", g)}
		if higher {
			limit := r - tol*math.Abs(r)
			c.Passed = g >= limit-1e-12
			c.Expected = fmt.Sprintf("≥ %.6g (%s %.6g − %.3g%%)", limit, against, r, 100*tol)
		} else {
			limit := r + tol*math.Abs(r)
			c.Passed = g <= limit+1e-12
			c.Expected = fmt.Sprintf("≤ %.6g (%s %.6g + %.3g%%)", limit, against, r, 100*tol)
		}
		checks = append(checks, c)
	}
	for _, n := range lowerIsBetter {
		add(n, false)
	}
	for _, n := range higherIsBetter {
		add(n, true)
	}
	return checks
}

// metrics computes the task's metrics overall and per segment.
func (e *Evaluation) metrics(ds *dataset, preds []float64) (map[string]float64, map[string]map[string]float64) {
	compute := func(y, p []float64) map[string]float64 {
		if e.task() == TaskClassification {
			return ClassificationMetrics(y, p, e.threshold())
		}
		return Metrics(y, p)
	}
	overall := compute(ds.y, preds)
	if ds.segments == nil {
		return overall, nil
	}
	ys, ps := map[string][]float64{}, map[string][]float64{}
	for i, s := range ds.segments {
		ys[s], ps[s] = append(ys[s], ds.y[i]), append(ps[s], preds[i])
	}
	segs := make(map[string]map[string]float64, len(ys))
	for s := range ys {
		segs[s] = compute(ys[s], ps[s])
	}
	return overall, segs
}

// production evaluates the same data on production's stable version into
// ev.Production and returns production's predictions; nothing when there
// is no Production finder or nothing in production.
func (e *Evaluation) production(ctx context.Context, c modelgate.Candidate, ds *dataset, ev *EvaluationEvidence) ([]float64, error) {
	if e.Production == nil || c.Version == nil {
		return nil, nil
	}
	split, err := e.Production.Traffic(ctx, c.Version.Name)
	if err != nil {
		return nil, fmt.Errorf("read production's traffic split: %w", err)
	}
	if split.Stable == "" || split.Stable == c.Version.Version {
		return nil, nil
	}
	ep, err := e.Production.Production(ctx, c.Version.Name)
	if err != nil {
		return nil, fmt.Errorf("find production's endpoint: %w", err)
	}
	preds, err := e.PredictAll(ctx, ep, ds.rows)
	if err != nil {
		return nil, fmt.Errorf("evaluate production version %s: %w", split.Stable, err)
	}
	m, segs := e.metrics(ds, preds)
	ev.Production = &ProductionResult{Version: split.Stable, Metrics: m, Segments: segs}
	return preds, nil
}

// PredictAll sends rows (V1 instances) through ep in batches of BatchSize
// and returns one prediction per row. A batch answered with anything but
// 200 and one finite number per row is an EINVALID error naming the batch.
func (e *Evaluation) PredictAll(ctx context.Context, ep modelgate.Endpoint, rows []any) ([]float64, error) {
	size := orDefault(e.BatchSize, 100)
	preds := make([]float64, 0, len(rows))
	for i := 0; i < len(rows); i += size {
		batch := rows[i:min(i+size, len(rows))]
		got, err := e.predictBatch(ctx, ep, batch)
		if err != nil {
			return nil, fmt.Errorf("evaluation batch at row %d: %w", i+1, err)
		}
		for j, p := range got {
			if math.IsNaN(p) || math.IsInf(p, 0) {
				return nil, modelgate.Errorf(modelgate.EINVALID, "evaluation row %d: prediction is %v, expected a finite number", i+j+1, p)
			}
		}
		preds = append(preds, got...)
	}
	return preds, nil
}

func (e *Evaluation) predictBatch(ctx context.Context, ep modelgate.Endpoint, batch []any) ([]float64, error) {
	var status int
	var preds []float64
	var body []byte
	switch e.protocol() {
	case ProtocolV1:
		res, err := e.Client.Predict(ctx, ep, batch)
		if res == nil || (err != nil && res.Status == 200) {
			return nil, err
		}
		status, preds, body = res.Status, res.Predictions, res.Body
	case ProtocolV2:
		tensors, err := wire.TensorsFromInstances(batch)
		if err != nil {
			return nil, err
		}
		res, err := e.Client.Infer(ctx, ep, wire.V2Request{Inputs: tensors})
		if res == nil || (err != nil && res.Status == 200) {
			return nil, err
		}
		status, preds, body = res.Status, res.Predictions, res.Body
	default:
		return nil, modelgate.Errorf(modelgate.EINVALID, "evaluation protocol %q: expected v1 or v2", e.Protocol)
	}
	if status != 200 || len(preds) != len(batch) {
		return nil, modelgate.Errorf(modelgate.EINVALID, "expected HTTP 200 with %d predictions, observed HTTP %d with %d: %.200s", len(batch), status, len(preds), body)
	}
	return preds, nil
}

func (e *Evaluation) target() string {
	if e.Target == "" {
		return "units_sold"
	}
	return e.Target
}

func (e *Evaluation) task() string {
	if e.Task == "" {
		return TaskRegression
	}
	return e.Task
}

func (e *Evaluation) threshold() float64 {
	if e.Threshold == 0 {
		return 0.5
	}
	return e.Threshold
}

func (e *Evaluation) tolerance() float64 {
	if e.Tolerance == 0 {
		return 0.01
	}
	return e.Tolerance
}

func (e *Evaluation) protocol() string {
	if e.Protocol == "" {
		return ProtocolV1
	}
	return e.Protocol
}

// SegmentNames returns the segments of m sorted, numbers numerically.
func SegmentNames(m map[string]map[string]float64) []string {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Slice(names, func(i, j int) bool {
		a, errA := parseFloat(names[i])
		b, errB := parseFloat(names[j])
		if errA == nil && errB == nil {
			return a < b
		}
		return names[i] < names[j]
	})
	return names
}
