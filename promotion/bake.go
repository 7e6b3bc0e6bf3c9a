package promotion

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/sketch"
)

// BakePolicy is playbook step 8's watch of the new production version.
type BakePolicy struct {
	// Duration is how long the new version is watched; default 24h, 0
	// skips the bake.
	Duration time.Duration
	// FirstHour is the early period looked at every Policy.Interval
	// (the playbook's "monitor continuously for the first hour"); after
	// it, looks come every Later. Defaults 1h and 5m.
	FirstHour, Later time.Duration
	// OnNewPromotion says what a new promotion of the model does while a
	// bake runs: "end" (the default) ends the bake, recording why; "wait"
	// waits for it to end.
	OnNewPromotion string
}

// Bake request actions: a person's end or extensions of a bake, stored
// beside the promotion so the process watching it reads them within
// AbortPoll, whoever wrote them.
const (
	bakeEndAction     = "bake_end"
	bakeExtendsAction = "bake_extensions"
)

// bake watches the new production version against the alert rules and
// the previous version's baseline, one look per call. An alert whose
// action is rollback ends it with a rollback (the same records as a canary
// rollback); a notify-only alert is announced once per episode.
func (s *Service) bake(ctx context.Context, p *modelgate.Promotion) error {
	rec, err := s.beginStep(ctx, p, modelgate.StepBake, s.bakeSettings())
	if err != nil {
		return err
	}
	ev := bakeEvidence(rec)
	if s.AlertRules == nil || s.bakePolicy().Duration <= 0 {
		s.emit(p, "no bake configured: the new version is not watched after the rollout", nil)
		return s.complete(ctx, p, rec, modelgate.ResultOK, ev)
	}
	if ev.Started.IsZero() {
		if err := s.startBake(ctx, p, &ev); err != nil {
			return err
		}
	}
	if err := s.readBakeRequests(ctx, p, &ev); err != nil {
		return err
	}
	if done, why := s.bakeOver(&ev); done {
		s.emit(p, why, nil)
		return s.complete(ctx, p, rec, modelgate.ResultOK, ev)
	}
	if err := s.bakeLook(ctx, p, &ev); err != nil {
		return s.bakeMetricsFailed(ctx, p, rec, ev, err)
	}
	if rb := s.firedAlerts(ctx, p, &ev); len(rb) > 0 {
		p.Reasons = rb
		return s.complete(ctx, p, rec, modelgate.ResultRollback, ev)
	}
	if err := s.saveEvidence(ctx, rec, modelgate.ResultRunning, ev); err != nil {
		return fmt.Errorf("save bake figures: %w", err)
	}
	return s.pause(ctx, p, min(s.bakeInterval(ev), max(ev.Until.Sub(s.now()), time.Second)))
}

func (s *Service) bakeSettings() map[string]string {
	b := s.bakePolicy()
	return map[string]string{"duration": b.Duration.String(), "first_hour": b.FirstHour.String(), "interval": s.Policy.Interval.String(), "later": b.Later.String()}
}

func (s *Service) bakePolicy() BakePolicy {
	b := s.Policy.Bake
	if b.FirstHour <= 0 {
		b.FirstHour = time.Hour
	}
	if b.Later <= 0 {
		b.Later = 5 * time.Minute
	}
	return b
}

// bakeInterval is the time to the next look: often in the first hour.
func (s *Service) bakeInterval(ev modelgate.BakeEvidence) time.Duration {
	b := s.bakePolicy()
	if s.now().Sub(ev.Started) < b.FirstHour {
		return s.Policy.Interval
	}
	return b.Later
}

// startBake fixes the bake's end and the baseline it compares with, once.
func (s *Service) startBake(ctx context.Context, p *modelgate.Promotion, ev *modelgate.BakeEvidence) error {
	ev.Started = s.now()
	ev.Until = ev.Started.Add(s.bakePolicy().Duration)
	base, err := s.previousBaseline(ctx, p)
	if err != nil {
		return err
	}
	ev.Baseline = base
	msg := fmt.Sprintf("baking: version %s is watched against the alert rules until %s", p.Version, ev.Until.UTC().Format("2006-01-02 15:04 UTC"))
	if base != nil {
		msg += fmt.Sprintf(" and against version %s's baseline (p95 %.0f ms, error rate %.2f%%)", p.Previous, base.LatencyMS.P95, 100*base.ErrorRate())
	}
	s.emit(p, msg, nil)
	return s.audit(ctx, p, "bake.started", "started", mustJSON(map[string]any{"until": ev.Until, "baseline_of": p.Previous}), msg)
}

// previousBaseline is the baseline recorded when the version now replaced
// was promoted; nil when modelgate did not promote it or it has none.
func (s *Service) previousBaseline(ctx context.Context, p *modelgate.Promotion) (*modelgate.RevisionStats, error) {
	all, err := s.Store.ListPromotions(ctx, p.Model)
	if err != nil {
		return nil, fmt.Errorf("list promotions: %w", err)
	}
	for _, q := range all {
		if q.Version != p.Previous || q.Outcome != modelgate.OutcomePromoted {
			continue
		}
		steps, err := s.Store.Steps(ctx, q.ID)
		if err != nil {
			return nil, fmt.Errorf("read steps of %s: %w", q.ID, err)
		}
		if b, ok := modelgate.FindEvidence[modelgate.BaselineEvidence](steps); ok && b.Baseline != nil {
			return b.Baseline, nil
		}
		return nil, nil
	}
	return nil, nil
}

// bakeOver says whether the bake ends now, and why.
func (s *Service) bakeOver(ev *modelgate.BakeEvidence) (bool, string) {
	switch {
	case ev.Ended != nil:
		return true, fmt.Sprintf("bake ended early by %s: %s", ev.Ended.By, ev.Ended.Reason)
	case !s.now().Before(ev.Until):
		return true, "bake over: no alert asked for a rollback"
	}
	return false, ""
}

// readBakeRequests copies a person's end and extensions of the bake into
// its record and moves its end accordingly.
func (s *Service) readBakeRequests(ctx context.Context, p *modelgate.Promotion, ev *modelgate.BakeEvidence) error {
	ext, end, err := s.bakeRequests(ctx, p.ID)
	if err != nil {
		return err
	}
	ev.Until = ev.Started.Add(s.bakePolicy().Duration)
	for _, e := range ext {
		ev.Until = ev.Until.Add(e.Duration)
	}
	ev.Extensions, ev.Ended = ext, end
	return nil
}

func (s *Service) bakeRequests(ctx context.Context, id string) ([]modelgate.Extension, *modelgate.Override, error) {
	var ext []modelgate.Extension
	var end *modelgate.Override
	if raw, err := s.Store.ActionState(ctx, id, bakeExtendsAction); err != nil {
		return nil, nil, fmt.Errorf("read bake extensions: %w", err)
	} else if raw != "" {
		if err := json.Unmarshal([]byte(raw), &ext); err != nil {
			return nil, nil, fmt.Errorf("read bake extensions: %w", err)
		}
	}
	if raw, err := s.Store.ActionState(ctx, id, bakeEndAction); err != nil {
		return nil, nil, fmt.Errorf("read bake end: %w", err)
	} else if raw != "" {
		end = new(modelgate.Override)
		if err := json.Unmarshal([]byte(raw), end); err != nil {
			return nil, nil, fmt.Errorf("read bake end: %w", err)
		}
	}
	return ext, end, nil
}

// bakeLook measures production since the previous look and evaluates the
// alert rules.
func (s *Service) bakeLook(ctx context.Context, p *modelgate.Promotion, ev *modelgate.BakeEvidence) error {
	now := s.now()
	recent, total, err := s.bakeFigures(ctx, p, ev, now)
	if err != nil {
		return err
	}
	ref, err := s.reference(ctx, p)
	if err != nil {
		return err
	}
	look := modelgate.BakeLook{At: now, Recent: recent, Total: total, Baseline: ev.Baseline, Reference: ref}
	ev.Alerts, ev.Pending = s.AlertRules.Evaluate(look, ev.Pending)
	ev.Total, ev.Looks, ev.MetricFailures, ev.Error = &total, ev.Looks+1, 0, ""
	ev.Series = append(ev.Series, modelgate.SeriesPoint{At: now, Production: recent.Figures()})
	// Elapsed and Remaining tell followers the bake runs (a client of the
	// server stops following here).
	s.emit(p, bakeProgress(ev, recent, now), func(e *Event) { e.Elapsed, e.Remaining = now.Sub(ev.Started), max(ev.Until.Sub(now), time.Second) })
	return nil
}

// bakeFigures returns production since the previous look and since the
// rollout: from a source with history directly, otherwise as the
// difference of two readings of the totals.
func (s *Service) bakeFigures(ctx context.Context, p *modelgate.Promotion, ev *modelgate.BakeEvidence, now time.Time) (recent, total modelgate.RevisionStats, err error) {
	w, err := s.Metrics.Observe(ctx, p.Model)
	if err != nil {
		return recent, total, err
	}
	total = w.Stable
	if total.Version != "" && total.Version != p.Version {
		return recent, total, modelgate.Errorf(modelgate.ECONFLICT, "production serves version %s, not the baking version %s", total.Version, p.Version)
	}
	last := ev.Started
	if n := len(ev.Series); n > 0 {
		last = ev.Series[n-1].At
	}
	if ro, ok := s.Metrics.(modelgate.RangeObserver); ok && last.Before(now) {
		rw, err := ro.ObserveRange(ctx, p.Model, last, now)
		if err != nil {
			return recent, total, err
		}
		return rw.Stable, total, nil
	}
	if ev.Total == nil {
		return total, total, nil
	}
	recent, err = sketch.DiffStats(total, *ev.Total)
	return recent, total, err
}

func bakeProgress(ev *modelgate.BakeEvidence, recent modelgate.RevisionStats, now time.Time) string {
	var pending []string
	for _, a := range ev.Alerts {
		if a.Firing || a.Pending {
			pending = append(pending, a.Summary)
		}
	}
	left := ev.Until.Sub(now).Round(time.Second)
	if left > time.Hour {
		left = left.Round(time.Minute)
	}
	msg := fmt.Sprintf("bake look %d: %d requests since the last look, error rate %.2f%%, p95 %s ms; %s left",
		ev.Looks, recent.Requests, 100*recent.ErrorRate(), msText(recent.LatencyMS.P95), max(left, 0))
	if len(pending) > 0 {
		msg += "; watching: " + strings.Join(pending, " ")
	}
	return msg
}

// msText writes milliseconds with a decimal below 10 ms, where the local
// gateway's latencies are.
func msText(ms float64) string {
	if ms < 10 {
		return strconv.FormatFloat(ms, 'f', 1, 64)
	}
	return strconv.FormatFloat(ms, 'f', 0, 64)
}

// firedAlerts records every alert that began firing at this look (once per
// episode, so a restart does not announce it again) and returns the
// reasons for a rollback when one of them asks for it.
func (s *Service) firedAlerts(ctx context.Context, p *modelgate.Promotion, ev *modelgate.BakeEvidence) []string {
	var reasons []string
	for _, a := range ev.Firing() {
		if !firingSince(ev, a.Name) {
			ev.Fired = append(ev.Fired, modelgate.AlertEvent{At: s.now(), Alert: a.Name, Action: a.Action, Summary: a.Summary})
			s.alertFired(ctx, p, a)
		}
		if a.Action == modelgate.AlertRollback {
			reasons = append(reasons, "After the rollout, an alert fired ("+a.Name+"): "+a.Summary+" Production goes back to version "+p.Previous+".")
		}
	}
	return reasons
}

// firingSince says whether the alert fired earlier in its current episode:
// it is in Fired after the last look at which it did not hold.
func firingSince(ev *modelgate.BakeEvidence, name string) bool {
	since, holds := ev.Pending[name]
	if !holds {
		return false
	}
	for _, f := range ev.Fired {
		if f.Alert == name && !f.At.Before(since) {
			return true
		}
	}
	return false
}

func (s *Service) alertFired(ctx context.Context, p *modelgate.Promotion, a modelgate.Alert) {
	if err := s.audit(ctx, p, "bake.alert", string(a.Action), mustJSON(a), a.Summary); err != nil {
		s.logger().Error("cannot record the alert", "promotion", p.ID, "err", err)
	}
	s.emit(p, fmt.Sprintf("ALERT %s (%s): %s", a.Name, a.Action, a.Summary), nil)
	if a.Action == modelgate.AlertNotify {
		s.notify(ctx, p, modelgate.NotifyAlert, fmt.Sprintf("%s version %s: an alert fired after the rollout (%s): %s", p.Model, p.Version, a.Name, a.Summary))
	}
}

// bakeMetricsFailed keeps watching when production's figures cannot be
// read: production is the new version either way, and an outage of the
// metrics is no reason to replace it. People are told once, after
// MaxMetricFailures looks in a row.
func (s *Service) bakeMetricsFailed(ctx context.Context, p *modelgate.Promotion, rec *modelgate.StepRecord, ev modelgate.BakeEvidence, cause error) error {
	ev.MetricFailures++
	ev.Error = modelgate.ErrorMessage(cause)
	s.logger().Warn("cannot read production's figures during the bake; will retry", "promotion", p.ID, "err", cause)
	if ev.MetricFailures == max(s.Policy.MaxMetricFailures, 1) {
		s.notify(ctx, p, modelgate.NotifyAlert, fmt.Sprintf("%s version %s: production's figures could not be read %d times in a row during the bake, so nothing watches it: %s",
			p.Model, p.Version, ev.MetricFailures, ev.Error))
	}
	if err := s.saveEvidence(ctx, rec, modelgate.ResultRunning, ev); err != nil {
		return err
	}
	return s.pause(ctx, p, s.bakeInterval(ev))
}

// bakeEvidence is what the bake recorded at its last look.
func bakeEvidence(rec *modelgate.StepRecord) modelgate.BakeEvidence {
	if e, err := rec.DecodeEvidence(); err == nil && e != nil {
		return *e.(*modelgate.BakeEvidence)
	}
	return modelgate.BakeEvidence{}
}

// bakeReasons are the alerts that ended a bake with a rollback.
func bakeReasons(ev *modelgate.BakeEvidence) []string {
	var out []string
	for _, a := range ev.Firing() {
		if a.Action == modelgate.AlertRollback {
			out = append(out, "After the rollout, an alert fired ("+a.Name+"): "+a.Summary)
		}
	}
	return out
}
