package modelgate

// Divergence is how differently the candidate predicts from production on
// the same inputs, measured before the canary by sending one set of rows
// through both (the candidate in staging). A new model is meant to predict
// differently; the divergence staging shows is what the canary is judged
// against, when ground truth justifies it.
type Divergence struct {
	// Source names the rows: "evaluation" (ground truth), "recent_requests"
	// (production's own recent inputs) or "reference_sample".
	Source         string  `json:"source"`
	Rows           int     `json:"rows"`
	CandidateMean  float64 `json:"candidate_mean"`
	ProductionMean float64 `json:"production_mean"`
	// MeanShift is (candidate mean − production mean) / |production mean|.
	MeanShift float64 `json:"mean_shift"`
	// Distance is the Kolmogorov–Smirnov distance between the two sets of
	// predictions.
	Distance float64 `json:"distance"`
	// Segments are the same figures per value of the segment column.
	Segments map[string]SegmentDivergence `json:"segments,omitempty"`
	// Accuracy compares both versions with the ground truth, when the
	// rows carry it.
	Accuracy *AccuracyComparison `json:"accuracy,omitempty"`
}

// SegmentDivergence is one segment's divergence.
type SegmentDivergence struct {
	Rows      int     `json:"rows"`
	MeanShift float64 `json:"mean_shift"`
}

// AccuracyComparison is both versions' accuracy on the same labelled rows.
type AccuracyComparison struct {
	Metric        string  `json:"metric"` // e.g. "mae", "auc"
	Candidate     float64 `json:"candidate"`
	Production    float64 `json:"production"`
	LowerIsBetter bool    `json:"lower_is_better"`
	// AtLeastAsGood: the candidate is at least as accurate as production
	// (within the evaluation's tolerance), so the divergence is justified.
	AtLeastAsGood bool `json:"at_least_as_good"`
}

// Expectation is what staging leads the judge to expect of the canary's
// predictions.
type Expectation struct {
	Divergences []Divergence `json:"divergences,omitempty"`
}

// Justified returns the divergence ground truth backs — measured on labelled
// rows on which the candidate is at least as accurate as production — or
// nil when none is.
func (e *Expectation) Justified() *Divergence {
	if e == nil {
		return nil
	}
	for i := range e.Divergences {
		if a := e.Divergences[i].Accuracy; a != nil && a.AtLeastAsGood {
			return &e.Divergences[i]
		}
	}
	return nil
}

// Find returns the divergence measured on source, or nil.
func (e *Expectation) Find(source string) *Divergence {
	if e == nil {
		return nil
	}
	for i := range e.Divergences {
		if e.Divergences[i].Source == source {
			return &e.Divergences[i]
		}
	}
	return nil
}

// Paired summarises both versions' predictions on the same requests:
// production's requests mirrored to the canary (production still answers),
// so the per-request difference can be tested directly.
type Paired struct {
	Count      int64   `json:"count"`       // mirrored predictions with both answers
	SumDiff    float64 `json:"sum_diff"`    // Σ(canary − production)
	SumSqDiff  float64 `json:"sum_sq_diff"` // Σ(canary − production)²
	SumStable  float64 `json:"sum_stable"`  // Σ production, to express shifts relative to its mean
	SumAbsDiff float64 `json:"sum_abs_diff"`
}

// Add records one pair of predictions.
func (p *Paired) Add(canary, stable float64) {
	d := canary - stable
	p.Count++
	p.SumDiff += d
	p.SumSqDiff += d * d
	p.SumStable += stable
	if d < 0 {
		d = -d
	}
	p.SumAbsDiff += d
}

// Merge adds q's pairs to p.
func (p *Paired) Merge(q Paired) {
	p.Count += q.Count
	p.SumDiff += q.SumDiff
	p.SumSqDiff += q.SumSqDiff
	p.SumStable += q.SumStable
	p.SumAbsDiff += q.SumAbsDiff
}

// PowerPlan says what a canary window can detect at the traffic measured in
// its first looks, and which configured margins are out of its reach.
type PowerPlan struct {
	CanaryRate float64 `json:"canary_rate"` // requests per second on the canary
	StableRate float64 `json:"stable_rate"`
	Window     string  `json:"window"`
	// Lines are plain sentences, one per check family.
	Lines []string `json:"lines"`
	// Warnings name the margins this window cannot resolve.
	Warnings []string `json:"warnings,omitempty"`
}
