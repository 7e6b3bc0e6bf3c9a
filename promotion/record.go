package promotion

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"github.com/modelgate/modelgate"
)

// Records writes the human-facing records of a finished promotion: the
// CHANGELOG entry and the report. Implementations must be idempotent per
// promotion ID, since a resumed promotion may write them again.
type Records interface {
	Write(ctx context.Context, p *modelgate.Promotion, steps []*modelgate.StepRecord) error
}

// advance moves p to the next step and persists it; p changes only once the
// store has it, so an error never leaves p ahead of the database.
func (s *Service) advance(ctx context.Context, p *modelgate.Promotion, next modelgate.Step) error {
	q := *p
	q.Step, q.UpdatedAt = next, s.now()
	if err := s.Store.UpdatePromotion(ctx, &q); err != nil {
		return fmt.Errorf("save promotion: %w", err)
	}
	*p = q
	return nil
}

// replayRecorded replays the current step if its record says it finished.
func (s *Service) replayRecorded(ctx context.Context, p *modelgate.Promotion) (bool, error) {
	steps, err := s.Store.Steps(ctx, p.ID)
	if err != nil {
		return false, fmt.Errorf("read steps: %w", err)
	}
	for _, r := range steps {
		if r.Step == p.Step {
			return s.replayFinished(ctx, p, r)
		}
	}
	return false, nil
}

// replayFinished follows the recorded outcome of a step that finished before
// a crash, instead of running it again: a decision, a failed gate or a failed
// canary is never made twice, and never made differently. It reports whether
// the step had finished.
func (s *Service) replayFinished(ctx context.Context, p *modelgate.Promotion, rec *modelgate.StepRecord) (bool, error) {
	if rec.EndedAt.IsZero() {
		return false, nil
	}
	if len(p.Reasons) == 0 {
		p.Reasons = recordedReasons(rec)
	}
	switch o := rec.Outcome; {
	case o == "failed" && (rec.Step == modelgate.StepVerify || rec.Step == modelgate.StepStaging || rec.Step == modelgate.StepSmoke):
		return true, s.end(ctx, p, modelgate.OutcomeFailed, rec.Step)
	case o == "failed", rec.Step == modelgate.StepDecision && o == string(modelgate.DecisionRollback):
		return true, s.advance(ctx, p, modelgate.StepRollback)
	case rec.Step == modelgate.StepWindow && o == string(modelgate.DecisionRollback):
		return true, s.decide(ctx, p, modelgate.DecisionRollback, modelgate.Judgement{Reasons: p.Reasons}, modelgate.StepRollback)
	case rec.Step == modelgate.StepBaseline:
		return true, s.end(ctx, p, modelgate.OutcomePromoted, rec.Step)
	case rec.Step == modelgate.StepRollback:
		return true, s.end(ctx, p, s.rollbackOutcome(ctx, p), rec.Step)
	}
	return true, s.advance(ctx, p, nextStep[rec.Step])
}

// nextStep is where a step that finished well leads.
var nextStep = map[modelgate.Step]modelgate.Step{
	modelgate.StepVerify:   modelgate.StepStaging,
	modelgate.StepStaging:  modelgate.StepSmoke,
	modelgate.StepSmoke:    modelgate.StepCanary,
	modelgate.StepCanary:   modelgate.StepWindow,
	modelgate.StepWindow:   modelgate.StepDecision,
	modelgate.StepDecision: modelgate.StepRollout,
	modelgate.StepRollout:  modelgate.StepBaseline,
}

// recordedReasons reads the reasons a finished step recorded in its evidence.
func recordedReasons(rec *modelgate.StepRecord) []string {
	var ev struct {
		Reasons   []string            `json:"reasons"`
		Judgement modelgate.Judgement `json:"judgement"`
		Error     string              `json:"error"`
	}
	if json.Unmarshal(rec.Evidence, &ev) != nil {
		return nil
	}
	switch {
	case len(ev.Reasons) > 0:
		return ev.Reasons
	case len(ev.Judgement.Reasons) > 0:
		return ev.Judgement.Reasons
	case ev.Error != "":
		return []string{ev.Error}
	}
	return nil
}

// beginStep records that a step started, keeping the first start time when
// a resumed promotion runs the step again.
func (s *Service) beginStep(ctx context.Context, p *modelgate.Promotion, step modelgate.Step, inputs any) (*modelgate.StepRecord, error) {
	steps, err := s.Store.Steps(ctx, p.ID)
	if err != nil {
		return nil, fmt.Errorf("read steps: %w", err)
	}
	for _, r := range steps {
		if r.Step == step {
			return r, nil
		}
	}
	r := &modelgate.StepRecord{PromotionID: p.ID, Step: step, StartedAt: s.now(), Outcome: "running", Inputs: mustJSON(inputs)}
	if err := s.Store.SaveStep(ctx, r); err != nil {
		return nil, fmt.Errorf("save step %s: %w", step, err)
	}
	return r, nil
}

// finishStep persists a step's outcome and evidence and appends it to the
// audit trail; a failed audit write fails the step. rec is the record
// beginStep returned.
func (s *Service) finishStep(ctx context.Context, p *modelgate.Promotion, rec *modelgate.StepRecord, outcome string, evidence any) error {
	r := *rec
	r.EndedAt, r.Outcome, r.Evidence = s.now(), outcome, mustJSON(evidence)
	if err := s.Store.SaveStep(ctx, &r); err != nil {
		return fmt.Errorf("save step %s: %w", r.Step, err)
	}
	return s.audit(ctx, p, "step."+string(r.Step), outcome, r.Evidence, "")
}

func (s *Service) audit(ctx context.Context, p *modelgate.Promotion, action, outcome string, evidence []byte, detail string) error {
	e := modelgate.AuditEntry{Time: s.now(), Actor: s.Actor, Action: action, Model: p.Model, Version: p.Version, PromotionID: p.ID, Outcome: outcome, Detail: detail}
	if len(evidence) > 0 {
		sum := sha256.Sum256(evidence)
		e.EvidenceDigest = hex.EncodeToString(sum[:])
	}
	if _, err := s.Audit.Append(ctx, e); err != nil {
		return fmt.Errorf("write audit trail: %w", err)
	}
	return nil
}

func (s *Service) auditRejected(ctx context.Context, p *modelgate.Promotion, cause error) {
	if err := s.audit(ctx, p, "promotion.rejected", "rejected", nil, modelgate.ErrorMessage(cause)); err != nil {
		s.logger().Error("cannot record the rejected promotion in the audit trail", "err", err)
	}
}

// act runs one external action at most once across crashes: the intent is
// persisted first and the completion after; done, when given, tells whether
// the action's effect is already in place.
func (s *Service) act(ctx context.Context, p *modelgate.Promotion, name string, done func(context.Context) (bool, error), do func(context.Context) error) error {
	state, err := s.Store.ActionState(ctx, p.ID, name)
	if err != nil {
		return fmt.Errorf("read action %s: %w", name, err)
	}
	if state == modelgate.ActionDone {
		return nil
	}
	// Check the world first, also for a fresh action: an action whose effect
	// is already there (a resumed intent, or a rollback target still in
	// Production) is recorded as done without being repeated.
	if done != nil {
		ok, err := done(ctx)
		if err != nil {
			return fmt.Errorf("check whether %s took effect: %w", name, err)
		}
		if ok {
			return s.markDone(ctx, p, name)
		}
	}
	if err := s.Store.SetAction(ctx, p.ID, name, modelgate.ActionIntent); err != nil {
		return fmt.Errorf("record intent %s: %w", name, err)
	}
	if err := do(ctx); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return s.markDone(ctx, p, name)
}

func (s *Service) markDone(ctx context.Context, p *modelgate.Promotion, name string) error {
	if err := s.Store.SetAction(ctx, p.ID, name, modelgate.ActionDone); err != nil {
		return fmt.Errorf("record %s done: %w", name, err)
	}
	return s.audit(ctx, p, "action."+name, "done", nil, "")
}

func mustJSON(v any) json.RawMessage {
	if v == nil {
		return nil
	}
	if raw, ok := v.(json.RawMessage); ok {
		return raw
	}
	b, err := json.Marshal(v)
	if err != nil {
		b, _ = json.Marshal(map[string]string{"unencodable": err.Error()})
	}
	return b
}
