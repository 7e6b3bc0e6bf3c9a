package promotion

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/sketch"
)

// The playbook's "daily review for the first week": once a day after a
// rollout, production's figures of that day against the baseline of the
// version it replaced, through the notifiers. Each day's summary is an
// action of the promotion (its state holds the totals read then), so a
// summary is sent once, whichever process sends it and however often it
// runs.

// DailySummary is one day's summary of a version in production.
type DailySummary struct {
	PromotionID string                   `json:"promotion_id"`
	Model       string                   `json:"model"`
	Version     string                   `json:"version"`
	Day         int                      `json:"day"` // 1 is the first day after the rollout
	Days        int                      `json:"days"`
	From        time.Time                `json:"from"`
	To          time.Time                `json:"to"`
	Figures     modelgate.RevisionStats  `json:"figures"`
	Baseline    *modelgate.RevisionStats `json:"baseline,omitempty"`
	Lines       []string                 `json:"lines"`
}

// summaryState is what a sent summary keeps: production's totals then.
type summaryState struct {
	Sent   time.Time               `json:"sent"`
	Totals modelgate.RevisionStats `json:"totals"`
}

// DailySummaries sends every summary that is due (days ≤ SummaryDays
// since each model's last rollout, while that version is still in
// production) and returns them. model "" means every model. A failure to
// read one model's figures is returned after the others are sent.
func (s *Service) DailySummaries(ctx context.Context, model string) ([]DailySummary, error) {
	if s.Policy.SummaryDays <= 0 {
		return nil, nil
	}
	all, err := s.Store.ListPromotions(ctx, model)
	if err != nil {
		return nil, fmt.Errorf("list promotions: %w", err)
	}
	var out []DailySummary
	var firstErr error
	seen := map[string]bool{}
	for _, p := range all { // newest first: the model's last rollout
		if seen[p.Model] || !rolledOut(p) {
			continue
		}
		seen[p.Model] = true
		sums, err := s.summariesOf(ctx, p)
		out = append(out, sums...)
		if err != nil && firstErr == nil {
			firstErr = fmt.Errorf("daily summary of %s: %w", p.Model, err)
		}
	}
	return out, firstErr
}

// rolledOut reports whether p put its version in production (it may still
// bake).
func rolledOut(p *modelgate.Promotion) bool {
	return p.Outcome == modelgate.OutcomePromoted || p.Outcome == modelgate.OutcomeNone && (p.Step == modelgate.StepBake || p.Step == modelgate.StepBaseline)
}

func (s *Service) summariesOf(ctx context.Context, p *modelgate.Promotion) ([]DailySummary, error) {
	rolloutAt, err := s.rolloutTime(ctx, p)
	if err != nil || rolloutAt.IsZero() {
		return nil, err
	}
	var out []DailySummary
	for day := 1; day <= s.Policy.SummaryDays; day++ {
		to := rolloutAt.Add(time.Duration(day) * 24 * time.Hour)
		if s.now().Before(to) {
			break
		}
		if state, err := s.Store.ActionState(ctx, p.ID, summaryAction(day)); err != nil {
			return out, err
		} else if state != "" {
			continue
		}
		sum, err := s.summary(ctx, p, day, to.Add(-24*time.Hour), to)
		if err != nil {
			return out, err
		}
		if sum == nil {
			return out, nil // the version left production: no more summaries
		}
		out = append(out, *sum)
	}
	return out, nil
}

func summaryAction(day int) string { return "daily_summary_" + strconv.Itoa(day) }

// rolloutTime is when p's rollout step ended; zero before it did.
func (s *Service) rolloutTime(ctx context.Context, p *modelgate.Promotion) (time.Time, error) {
	rec, err := s.record(ctx, p.ID, modelgate.StepRollout)
	if err != nil || rec == nil || rec.Outcome != modelgate.ResultOK {
		return time.Time{}, err
	}
	return rec.EndedAt, nil
}

// summary measures day's figures, sends and records the summary; nil when
// production no longer serves p's version.
func (s *Service) summary(ctx context.Context, p *modelgate.Promotion, day int, from, to time.Time) (*DailySummary, error) {
	w, err := s.Metrics.Observe(ctx, p.Model)
	if err != nil {
		return nil, fmt.Errorf("read production's figures: %w", err)
	}
	if w.Stable.Version != "" && w.Stable.Version != p.Version {
		return nil, nil
	}
	figures, err := s.dayFigures(ctx, p, day, w.Stable, from, to)
	if err != nil {
		return nil, err
	}
	base, err := s.previousBaseline(ctx, p)
	if err != nil {
		return nil, err
	}
	sum := &DailySummary{PromotionID: p.ID, Model: p.Model, Version: p.Version, Day: day, Days: s.Policy.SummaryDays, From: from, To: to, Figures: figures, Baseline: base}
	sum.Lines = summaryLines(sum, p.Previous)
	if err := s.audit(ctx, p, "summary.daily", "sent", mustJSON(sum), sum.Lines[0]); err != nil {
		return nil, err
	}
	st := summaryState{Sent: s.now(), Totals: w.Stable}
	if err := s.Store.SetAction(ctx, p.ID, summaryAction(day), string(mustJSON(st))); err != nil {
		return nil, err
	}
	s.notifyLines(ctx, p, modelgate.NotifySummary, sum.Lines[0], sum.Lines[1:])
	return sum, nil
}

// dayFigures is production over the day: from a source with history
// directly; otherwise the totals now less those the previous summary read
// (the whole time since the rollout for the first).
func (s *Service) dayFigures(ctx context.Context, p *modelgate.Promotion, day int, totals modelgate.RevisionStats, from, to time.Time) (modelgate.RevisionStats, error) {
	if ro, ok := s.Metrics.(modelgate.RangeObserver); ok {
		w, err := ro.ObserveRange(ctx, p.Model, from, to)
		if err != nil {
			return modelgate.RevisionStats{}, fmt.Errorf("read production's figures of day %d: %w", day, err)
		}
		return w.Stable, nil
	}
	if day == 1 {
		return totals, nil
	}
	raw, err := s.Store.ActionState(ctx, p.ID, summaryAction(day-1))
	if err != nil || raw == "" {
		return totals, err
	}
	var prev summaryState
	if err := json.Unmarshal([]byte(raw), &prev); err != nil {
		return totals, nil
	}
	return sketch.DiffStats(totals, prev.Totals)
}

// summaryLines are the summary in words: the headline, then each figure
// against the baseline.
func summaryLines(d *DailySummary, previous string) []string {
	f, b := d.Figures, d.Baseline
	head := fmt.Sprintf("%s version %s, day %d of %d in production: %d requests, error rate %.2f%%, p95 %.0f ms",
		d.Model, d.Version, d.Day, d.Days, f.Requests, 100*f.ErrorRate(), f.LatencyMS.P95)
	if b == nil {
		return []string{head + " (no baseline of version " + previous + " to compare with)."}
	}
	lines := []string{head + fmt.Sprintf("; version %s's baseline: error rate %.2f%%, p95 %.0f ms.", previous, 100*b.ErrorRate(), b.LatencyMS.P95)}
	lines = append(lines, fmt.Sprintf("p50 latency %.0f ms (baseline %.0f ms).", f.LatencyMS.P50, b.LatencyMS.P50))
	if f.Predictions.Count > 0 && b.Predictions.Count > 0 {
		lines = append(lines, fmt.Sprintf("Mean prediction %.4g (baseline %.4g).", f.Predictions.Mean(), b.Predictions.Mean()))
	}
	if f.Accuracy != nil && f.Accuracy.Count > 0 && b.Accuracy != nil && b.Accuracy.Count > 0 {
		lines = append(lines, fmt.Sprintf("MAE on %d actuals %.4g (baseline %.4g).", f.Accuracy.Count, f.Accuracy.MAE(), b.Accuracy.MAE()))
	}
	return lines
}
