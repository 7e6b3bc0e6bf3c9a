package promotion

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/modelgate/modelgate"
)

// window is playbook step 5: one look at canary against production per call.
// It sleeps until the next look when the judge says continue.
func (s *Service) window(ctx context.Context, p *modelgate.Promotion) error {
	rec, err := s.beginStep(ctx, p, modelgate.StepWindow, map[string]string{"window": s.Policy.Window.String(), "interval": s.Policy.Interval.String()})
	if err != nil {
		return err
	}
	prev := windowEvidence(rec)
	// A change made in the registry outside modelgate stops the canary at
	// the next look, whatever the figures say.
	if changed, err := s.registryChanged(ctx, p); err != nil {
		return err
	} else if changed != "" {
		p.Reasons, prev.Error = registryChangedReasons(p, changed), changed
		return s.complete(ctx, p, rec, modelgate.ResultFailed, prev)
	}
	length := s.windowLength(p)
	elapsed := s.now().Sub(p.CanaryStart)
	w, err := s.Metrics.Observe(ctx, p.Model)
	if err != nil {
		return s.metricsFailed(ctx, p, rec, prev, err)
	}
	if err := s.context(ctx, p, w); err != nil {
		return err
	}
	progress := modelgate.Progress{Elapsed: elapsed, Window: length, Final: elapsed >= length}
	j := s.Judge.Judge(w, progress)
	ev := modelgate.WindowEvidence{Looks: prev.Looks + 1, Elapsed: elapsed.Round(time.Second).String(), Window: length.String(),
		Extended: p.Extended, Decision: j.Decision, Judgement: &j, Figures: w, Plan: prev.Plan, NotJudged: prev.NotJudged, Baseline: prev.Baseline,
		Series: append(prev.Series, seriesPoint(s.now(), w, j))}
	if ev.Looks == 1 {
		if ev.Baseline, err = s.previousBaseline(ctx, p); err != nil {
			return err
		}
	}
	if err := s.plan(ctx, p, &ev, w, progress); err != nil {
		return err
	}
	ev.Logs, ev.LogsError = s.revisionLogs(ctx, p.Model)
	s.emit(p, "canary window", func(e *Event) {
		e.Elapsed, e.Remaining, e.Judgement, e.Window = elapsed, max(length-elapsed, 0), &j, w
	})
	switch j.Decision {
	case modelgate.DecisionContinue:
		return s.keepWatching(ctx, p, rec, ev, length-elapsed)
	case modelgate.DecisionHold:
		return s.hold(ctx, p, rec, ev, j)
	case modelgate.DecisionRollback:
		p.Reasons = j.Reasons
		return s.complete(ctx, p, rec, modelgate.ResultRollback, ev)
	}
	p.Reasons = j.Reasons
	return s.complete(ctx, p, rec, modelgate.ResultPromote, ev)
}

// context gives the judge what it compares the canary with besides
// production: the candidate's training reference profile and what staging
// showed of its predictions on the same rows as production.
func (s *Service) context(ctx context.Context, p *modelgate.Promotion, w *modelgate.Window) error {
	var err error
	if w.Reference == nil {
		if w.Reference, err = s.reference(ctx, p); err != nil {
			return err
		}
	}
	if w.Expected == nil {
		steps, err := s.Store.Steps(ctx, p.ID)
		if err != nil {
			return fmt.Errorf("read steps: %w", err)
		}
		if smoke, ok := modelgate.FindEvidence[modelgate.SmokeEvidence](steps); ok {
			w.Expected = smoke.Expectation()
		}
	}
	return nil
}

// plan says once, when the canary first has traffic, what this window can
// detect and what it does not judge: in the progress output, the record
// and the audit trail.
func (s *Service) plan(ctx context.Context, p *modelgate.Promotion, ev *modelgate.WindowEvidence, w *modelgate.Window, pr modelgate.Progress) error {
	planner, ok := s.Judge.(modelgate.Planner)
	if !ok || ev.Plan != nil || w.Canary.Requests == 0 || w.Stable.Requests == 0 {
		return nil
	}
	plan := planner.Plan(w, pr)
	ev.Plan, ev.NotJudged = &plan, ev.Judgement.NotJudged
	for _, l := range append(append(plan.Lines, plan.Warnings...), ev.NotJudged...) {
		s.emit(p, l, nil)
	}
	return s.audit(ctx, p, "window.plan", "planned", mustJSON(plan), strings.Join(plan.Warnings, " "))
}

// windowEvidence is what the window recorded at its last look (zero before
// the first).
func windowEvidence(rec *modelgate.StepRecord) modelgate.WindowEvidence {
	if e, err := rec.DecodeEvidence(); err == nil && e != nil {
		return *e.(*modelgate.WindowEvidence)
	}
	return modelgate.WindowEvidence{}
}

func (s *Service) windowLength(p *modelgate.Promotion) time.Duration {
	if p.Extended {
		return s.Policy.Window + s.Policy.Extension
	}
	return s.Policy.Window
}

func (s *Service) keepWatching(ctx context.Context, p *modelgate.Promotion, rec *modelgate.StepRecord, ev modelgate.WindowEvidence, remaining time.Duration) error {
	if err := s.saveEvidence(ctx, rec, modelgate.ResultRunning, ev); err != nil {
		return fmt.Errorf("save window figures: %w", err)
	}
	return s.pause(ctx, p, min(s.Policy.Interval, max(remaining, time.Second)))
}

// hold extends the window once when it ended without enough data, and after
// that stops for a person: never promote silently on missing data.
func (s *Service) hold(ctx context.Context, p *modelgate.Promotion, rec *modelgate.StepRecord, ev modelgate.WindowEvidence, j modelgate.Judgement) error {
	if !p.Extended && s.Policy.Extension > 0 {
		p.Extended = true
		s.emit(p, "not enough data at the end of the window; extending it once by "+s.Policy.Extension.String(), nil)
		if err := s.audit(ctx, p, "window.extended", "extended", mustJSON(ev), s.Policy.Extension.String()); err != nil {
			return err
		}
		return s.advance(ctx, p, modelgate.StepWindow)
	}
	p.Reasons = append(j.Reasons, "Held for a person: `modelgate promote "+p.Model+" --resume` keeps watching, `--resume --accept --reason TEXT` promotes it on your word, `modelgate abort "+p.Model+" --reason TEXT` rolls it back.")
	if err := s.saveEvidence(ctx, rec, modelgate.ResultHeld, ev); err != nil {
		return fmt.Errorf("save window figures: %w", err)
	}
	p.Outcome = modelgate.OutcomeHeld
	if err := s.audit(ctx, p, "promotion.held", "held", rec.Evidence, ""); err != nil {
		return err
	}
	if err := s.advance(ctx, p, modelgate.StepWindow); err != nil {
		return err
	}
	s.notify(ctx, p, modelgate.NotifyHeld, fmt.Sprintf("%s version %s is held for a person: the canary window ended without a decision", p.Model, p.Version))
	return nil
}

// metricsFailed tolerates a few failed looks in a row, then rolls back:
// a canary nobody can measure is not judged healthy. The count is kept in
// the window's record, so a restart does not reset it.
func (s *Service) metricsFailed(ctx context.Context, p *modelgate.Promotion, rec *modelgate.StepRecord, ev modelgate.WindowEvidence, err error) error {
	ev.MetricFailures++
	ev.Error = modelgate.ErrorMessage(err)
	if ev.MetricFailures < s.Policy.MaxMetricFailures {
		s.logger().Warn("cannot read canary metrics; will retry", "promotion", p.ID, "err", err)
		if err := s.saveEvidence(ctx, rec, modelgate.ResultRunning, ev); err != nil {
			return err
		}
		return s.pause(ctx, p, s.Policy.Interval)
	}
	p.Reasons = []string{fmt.Sprintf("The canary's figures could not be read %d times in a row, so it is not judged healthy: %s", ev.MetricFailures, ev.Error)}
	return s.complete(ctx, p, rec, modelgate.ResultFailed, ev)
}

// revisionLogs reads production's serving logs per revision when the
// platform can (modelgate.LogSource): best-effort evidence, so a failure is
// returned as text for the record, never as an error.
func (s *Service) revisionLogs(ctx context.Context, model string) ([]modelgate.RevisionLogs, string) {
	src, ok := s.Deployer.(modelgate.LogSource)
	if !ok {
		return nil, ""
	}
	logs, err := src.RevisionLogs(ctx, model)
	if err != nil {
		return nil, modelgate.ErrorMessage(err)
	}
	return logs, ""
}

// seriesPoint is a look's figures for the charts, with each input's drift
// level as the judge measured it.
func seriesPoint(at time.Time, w *modelgate.Window, j modelgate.Judgement) modelgate.SeriesPoint {
	pt := modelgate.SeriesPoint{At: at, Canary: w.Canary.Figures(), Production: w.Stable.Figures()}
	for _, c := range j.Checks {
		name, ok := strings.CutPrefix(c.Name, "feature_drift:")
		if !ok || c.Figures == nil { // not measured yet
			continue
		}
		if pt.Canary.Drift == nil {
			pt.Canary.Drift, pt.Production.Drift = map[string]float64{}, map[string]float64{}
		}
		pt.Canary.Drift[name], pt.Production.Drift[name] = c.Canary, c.Production
	}
	return pt
}
