package promotion

import (
	"context"
	"fmt"
	"time"

	"github.com/modelgate/modelgate"
)

// A person must always be able to stop, accept or undo what a promotion is
// doing, at once, and every such act is recorded with who and why. This
// file holds those acts: abort (honoured by a running process within a
// second, or carried out here for a held or crashed one), accept of a held
// promotion, and the record of a resume.

// Abort asks model's unfinished promotion to end and roll back (before its
// canary took traffic it simply fails). The request is stored, so the
// process running the promotion acts on it within AbortPoll; when no live
// process holds the promotion's lock (held, or crashed), this process takes
// the lock and returns mine=true: pass the promotion to Run to carry the
// abort out. Otherwise Await the promotion's end.
func (s *Service) Abort(ctx context.Context, model, reason string) (p *modelgate.Promotion, mine bool, err error) {
	p, err = s.Store.ActivePromotion(ctx, model)
	if modelgate.ErrorCode(err) == modelgate.ENOTFOUND {
		return nil, false, modelgate.Errorf(modelgate.ENOTFOUND, "model %s has no unfinished promotion to abort", model).
			WithHint("to undo a finished promotion, use `modelgate rollback %s --version V --reason TEXT`", model)
	} else if err != nil {
		return nil, false, fmt.Errorf("look for an active promotion: %w", err)
	}
	req := &modelgate.AbortRequest{PromotionID: p.ID, By: s.Actor, Source: s.ActorSource, Reason: reason, At: s.now()}
	if err := s.audit(ctx, p, "promotion.abort_requested", "requested", mustJSON(req), reason); err != nil {
		return nil, false, err
	}
	if err := s.Store.RequestAbort(ctx, req); err != nil {
		return nil, false, err
	}
	switch err := s.lock(ctx, model); {
	case modelgate.ErrorCode(err) == modelgate.ECONFLICT:
		return p, false, nil // a live process runs it and will act on the request
	case err != nil:
		return nil, false, err
	}
	p.Outcome = modelgate.OutcomeNone // a held promotion runs again, into the abort
	return p, true, nil
}

// Await polls a promotion until it ends (held counts as an end), calling
// tick after each poll; it returns when ctx ends too, with ctx's error.
func (s *Service) Await(ctx context.Context, id string, tick func(*modelgate.Promotion)) (*modelgate.Promotion, error) {
	for {
		p, err := s.Store.GetPromotion(ctx, id)
		if err != nil {
			return nil, err
		}
		if tick != nil {
			tick(p)
		}
		if p.Outcome != modelgate.OutcomeNone {
			return p, nil
		}
		if err := s.sleep(ctx, s.abortPoll()); err != nil {
			return p, err
		}
	}
}

// honourAbort carries out a stored abort request: before production moved
// the promotion fails, after it goes through the rollback path. It is a
// no-op when none is stored or the promotion is on its way back already.
func (s *Service) honourAbort(ctx context.Context, p *modelgate.Promotion) error {
	if p.Step == modelgate.StepRollback || p.Step == modelgate.StepDone {
		return nil
	}
	req, err := s.Store.AbortRequested(ctx, p.ID)
	if err != nil || req == nil {
		return err
	}
	p.Outcome = modelgate.OutcomeNone
	p.Reasons = append([]string{fmt.Sprintf("Aborted by %s: %s", req.By, req.Reason)}, p.Reasons...)
	e := modelgate.AuditEntry{Time: s.now(), Actor: req.By, ActorSource: req.Source, Action: "promotion.aborted", Model: p.Model,
		Version: p.Version, PromotionID: p.ID, Outcome: "aborted", Detail: req.Reason}
	if _, err := s.Audit.Append(ctx, e); err != nil {
		return fmt.Errorf("write audit trail: %w", err)
	}
	s.emit(p, fmt.Sprintf("aborted by %s (%s)", req.By, req.Reason), nil)
	if !touchesProduction(p.Step) {
		return s.end(ctx, p, modelgate.OutcomeFailed, p.Step)
	}
	return s.advance(ctx, p, modelgate.StepRollback)
}

// pause waits d between looks, waking early when a person asks to abort
// (or to end a bake), so it takes effect within AbortPoll, not a whole
// interval.
func (s *Service) pause(ctx context.Context, p *modelgate.Promotion, d time.Duration) error {
	for d > 0 {
		slice := min(d, s.abortPoll())
		if err := s.sleep(ctx, slice); err != nil {
			return err
		}
		d -= slice
		if req, err := s.Store.AbortRequested(ctx, p.ID); err != nil || req != nil {
			return err
		}
		if end, err := s.bakeEndRequested(ctx, p); err != nil || end {
			return err
		}
	}
	return nil
}

func (s *Service) abortPoll() time.Duration {
	if s.Policy.AbortPoll > 0 {
		return s.Policy.AbortPoll
	}
	return time.Second
}

// Accept promotes a held promotion on a person's word. It takes one more
// look at the canary so the record holds the judge's figures at the moment
// of acceptance, and refuses when the judge now finds harm. The promotion is
// returned to be passed to Run, which rolls it out.
func (s *Service) Accept(ctx context.Context, model, reason string) (*modelgate.Promotion, error) {
	p, err := s.Resume(ctx, model)
	if err != nil {
		return nil, err
	}
	if err := s.accept(ctx, p, reason); err != nil {
		_ = s.Store.ReleaseLock(context.WithoutCancel(ctx), model, s.Owner)
		return nil, err
	}
	return p, nil
}

func (s *Service) accept(ctx context.Context, p *modelgate.Promotion, reason string) error {
	rec, err := s.record(ctx, p.ID, modelgate.StepWindow)
	if err != nil {
		return err
	}
	if rec == nil || rec.Outcome != modelgate.ResultHeld {
		return modelgate.Errorf(modelgate.EPRECONDITION, "promotion %s of %s version %s is not held (it is at step %s); only a held promotion can be accepted",
			p.ID, p.Model, p.Version, p.Step).WithHint("`modelgate status %s` shows where it is", p.Model)
	}
	ev, err := s.lookNow(ctx, p, rec)
	if err != nil {
		return err
	}
	if ev.Decision == modelgate.DecisionRollback {
		return modelgate.Errorf(modelgate.EPRECONDITION, "the judge now finds the canary worse: %s", ev.Judgement.Reasons[0]).
			WithHint("end it with `modelgate abort %s --reason TEXT`", p.Model)
	}
	ev.Accepted = &modelgate.Override{By: s.Actor, Source: s.ActorSource, Reason: reason, At: s.now()}
	p.Reasons = append([]string{fmt.Sprintf("Accepted by %s: %s", s.Actor, reason)}, ev.Judgement.Reasons...)
	if err := s.audit(ctx, p, "promotion.accepted", "accepted", mustJSON(ev), reason); err != nil {
		return err
	}
	return s.complete(ctx, p, rec, modelgate.ResultPromote, ev)
}

// lookNow measures and judges the canary once more, as the window would.
func (s *Service) lookNow(ctx context.Context, p *modelgate.Promotion, rec *modelgate.StepRecord) (modelgate.WindowEvidence, error) {
	prev := windowEvidence(rec)
	w, err := s.Metrics.Observe(ctx, p.Model)
	if err != nil {
		return prev, fmt.Errorf("read the canary's figures: %w", err)
	}
	if err := s.context(ctx, p, w); err != nil {
		return prev, err
	}
	elapsed := s.now().Sub(p.CanaryStart)
	j := s.Judge.Judge(w, modelgate.Progress{Elapsed: elapsed, Window: s.windowLength(p), Final: true})
	prev.Looks++
	prev.Elapsed, prev.Decision, prev.Judgement, prev.Figures = elapsed.Round(time.Second).String(), j.Decision, &j, w
	return prev, nil
}

// recordResume audits a resume with who resumed, and a change of the
// effective configuration since the promotion last ran.
func (s *Service) recordResume(ctx context.Context, p *modelgate.Promotion) error {
	if err := s.audit(ctx, p, "promotion.resumed", "resumed", nil, "at step "+string(p.Step)); err != nil {
		return err
	}
	if s.ConfigHash == "" || p.ConfigHash == s.ConfigHash {
		return nil
	}
	detail := fmt.Sprintf("configuration changed from %s to %s", short(p.ConfigHash), short(s.ConfigHash))
	s.emit(p, detail+" since the promotion last ran", nil)
	if err := s.audit(ctx, p, "promotion.config_changed", "changed", nil, detail); err != nil {
		return err
	}
	p.ConfigHash = s.ConfigHash
	return s.advance(ctx, p, p.Step)
}

func short(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	if h == "" {
		return "(none)"
	}
	return h
}
