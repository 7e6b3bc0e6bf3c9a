package promotion

import (
	"context"
	"fmt"

	"github.com/modelgate/modelgate"
)

// next is where a step's result leads: another step, or the end of the
// promotion with an outcome.
type next struct {
	step modelgate.Step
	end  modelgate.Outcome
}

// stepSpec is one row of the playbook's step table.
type stepSpec struct {
	run func(s *Service, ctx context.Context, p *modelgate.Promotion) error
	// on says where each result the step can record leads. A result it
	// does not list (running, held) keeps the promotion at the step.
	on map[modelgate.StepResult]next
	// production is true for the steps from which production traffic may
	// have moved: ending a promotion there goes through the rollback path.
	production bool
}

func to(s modelgate.Step) next         { return next{step: s} }
func endWith(o modelgate.Outcome) next { return next{end: o} }

// playbook is the single source of the promotion's transitions: every step,
// what runs it, where each of its results leads, and whether production is
// touched. Step, the replay of finished steps after a crash and a person's
// abort all read it. (A function, not a variable: its rows name the methods
// that read it.)
func playbook() map[modelgate.Step]stepSpec {
	return map[modelgate.Step]stepSpec{
		modelgate.StepVerify: {run: (*Service).verify, on: map[modelgate.StepResult]next{
			modelgate.ResultOK: to(modelgate.StepStaging), modelgate.ResultFailed: endWith(modelgate.OutcomeFailed)}},
		modelgate.StepStaging: {run: (*Service).staging, on: map[modelgate.StepResult]next{
			modelgate.ResultOK: to(modelgate.StepSmoke), modelgate.ResultFailed: endWith(modelgate.OutcomeFailed)}},
		modelgate.StepSmoke: {run: (*Service).smoke, on: map[modelgate.StepResult]next{
			modelgate.ResultOK: to(modelgate.StepCanary), modelgate.ResultFailed: endWith(modelgate.OutcomeFailed)}},
		modelgate.StepCanary: {run: (*Service).canary, production: true, on: map[modelgate.StepResult]next{
			modelgate.ResultOK: to(modelgate.StepWindow), modelgate.ResultFailed: to(modelgate.StepRollback)}},
		modelgate.StepWindow: {run: (*Service).window, production: true, on: map[modelgate.StepResult]next{
			modelgate.ResultPromote: to(modelgate.StepDecision), modelgate.ResultRollback: to(modelgate.StepDecision),
			modelgate.ResultFailed: to(modelgate.StepRollback)}},
		modelgate.StepDecision: {run: (*Service).decision, production: true, on: map[modelgate.StepResult]next{
			modelgate.ResultPromote: to(modelgate.StepRollout), modelgate.ResultRollback: to(modelgate.StepRollback)}},
		// A rollout that finds the registry changed outside modelgate fails
		// and goes back: never two versions in production.
		modelgate.StepRollout: {run: (*Service).rollout, production: true, on: map[modelgate.StepResult]next{
			modelgate.ResultOK: to(modelgate.StepBake), modelgate.ResultFailed: to(modelgate.StepRollback)}},
		// The bake watches the new production version; an alert whose
		// action is rollback sends it back as a judged canary would be.
		modelgate.StepBake: {run: (*Service).bake, production: true, on: map[modelgate.StepResult]next{
			modelgate.ResultOK: to(modelgate.StepBaseline), modelgate.ResultRollback: to(modelgate.StepRollback)}},
		modelgate.StepBaseline: {run: (*Service).baseline, production: true, on: map[modelgate.StepResult]next{
			modelgate.ResultOK: endWith(modelgate.OutcomePromoted)}},
		// The rollback records rollback when it undid a version judged worse
		// (a canary, or an alert in the bake), reverted when a person
		// reverted a version promoted earlier, and ok when it ended a
		// promotion stopped by an error or an abort. A judged rollback goes
		// on to the incident: ticket, post-mortem bundle, due date.
		modelgate.StepRollback: {run: (*Service).rollback, production: true, on: map[modelgate.StepResult]next{
			modelgate.ResultRollback: to(modelgate.StepIncident), modelgate.ResultReverted: endWith(modelgate.OutcomeReverted),
			modelgate.ResultOK: endWith(modelgate.OutcomeFailed)}},
		modelgate.StepIncident: {run: (*Service).incident, production: true, on: map[modelgate.StepResult]next{
			modelgate.ResultOK: endWith(modelgate.OutcomeRolledBack)}},
	}
}

// Step runs the promotion's current step once and persists the result. A
// step that finished before a crash is not run again: its recorded result
// is followed through the table.
func (s *Service) Step(ctx context.Context, p *modelgate.Promotion) error {
	step := p.Step
	spec, ok := playbook()[step]
	if !ok {
		return modelgate.Errorf(modelgate.EINTERNAL, "promotion %s is at unknown step %q", p.ID, p.Step)
	}
	err := s.replayOrRun(ctx, p, spec)
	if err != nil {
		return fmt.Errorf("%s step of promotion %s: %w", step, p.ID, err)
	}
	return nil
}

func (s *Service) replayOrRun(ctx context.Context, p *modelgate.Promotion, spec stepSpec) error {
	rec, err := s.record(ctx, p.ID, p.Step)
	if err != nil {
		return err
	}
	if rec != nil && !rec.EndedAt.IsZero() {
		return s.replay(ctx, p, rec)
	}
	return spec.run(s, ctx, p)
}

// replay follows the recorded result of a step that finished before a
// crash instead of running it again: a decision, a failed gate or a failed
// canary is never made twice, and never made differently.
func (s *Service) replay(ctx context.Context, p *modelgate.Promotion, rec *modelgate.StepRecord) error {
	if len(p.Reasons) == 0 {
		p.Reasons = recordedReasons(rec)
	}
	return s.follow(ctx, p, rec.Step, rec.Outcome)
}

// follow moves p where the table says result of step leads.
func (s *Service) follow(ctx context.Context, p *modelgate.Promotion, step modelgate.Step, result modelgate.StepResult) error {
	n, ok := playbook()[step].on[result]
	switch {
	case !ok:
		return modelgate.Errorf(modelgate.EINTERNAL, "step %s has no transition for result %q", step, result)
	case n.end != modelgate.OutcomeNone:
		return s.end(ctx, p, n.end, step)
	}
	return s.advance(ctx, p, n.step)
}

// touchesProduction reports whether production may have moved by step.
func touchesProduction(step modelgate.Step) bool { return playbook()[step].production }

// recordedReasons reads the reasons a finished step recorded.
func recordedReasons(rec *modelgate.StepRecord) []string {
	e, err := rec.DecodeEvidence()
	if err != nil || e == nil {
		return nil
	}
	switch ev := e.(type) {
	case *modelgate.DecisionEvidence:
		return ev.Reasons
	case *modelgate.RollbackEvidence:
		return ev.Reasons
	case *modelgate.BakeEvidence:
		return bakeReasons(ev)
	case *modelgate.WindowEvidence:
		if ev.Judgement != nil && len(ev.Judgement.Reasons) > 0 {
			return ev.Judgement.Reasons
		}
		return nonEmpty(ev.Error)
	case *modelgate.VerifyEvidence:
		return nonEmpty(ev.Error)
	case *modelgate.StagingEvidence:
		return nonEmpty(ev.Error)
	case *modelgate.CanaryEvidence:
		return nonEmpty(ev.Error)
	case *modelgate.RolloutEvidence:
		return nonEmpty(ev.Error)
	case *modelgate.SmokeEvidence:
		return gateFailures(ev.Gates)
	}
	return nil
}

func nonEmpty(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}
