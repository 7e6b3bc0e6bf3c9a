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

// record returns the record of step, or nil when the step has not started.
func (s *Service) record(ctx context.Context, id string, step modelgate.Step) (*modelgate.StepRecord, error) {
	steps, err := s.Store.Steps(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("read steps: %w", err)
	}
	for _, r := range steps {
		if r.Step == step {
			return r, nil
		}
	}
	return nil, nil
}

// beginStep records that a step started, keeping the first start time when
// a resumed promotion runs the step again; settings are the policy values
// the step depends on.
func (s *Service) beginStep(ctx context.Context, p *modelgate.Promotion, step modelgate.Step, settings map[string]string) (*modelgate.StepRecord, error) {
	r, err := s.record(ctx, p.ID, step)
	if err != nil || r != nil {
		return r, err
	}
	r = &modelgate.StepRecord{PromotionID: p.ID, Step: step, StartedAt: s.now(), Outcome: modelgate.ResultRunning,
		Inputs: modelgate.StepInputs{Settings: settings, ConfigHash: s.ConfigHash}}
	if err := s.Store.SaveStep(ctx, r); err != nil {
		return nil, fmt.Errorf("save step %s: %w", step, err)
	}
	return r, nil
}

// saveEvidence rewrites a running step's evidence (the window's figures
// after each look), so they survive a crash.
func (s *Service) saveEvidence(ctx context.Context, rec *modelgate.StepRecord, result modelgate.StepResult, ev modelgate.Evidence) error {
	r := *rec
	r.Outcome = result
	if err := r.SetEvidence(ev); err != nil {
		return err
	}
	if err := s.Store.SaveStep(ctx, &r); err != nil {
		return fmt.Errorf("save step %s: %w", r.Step, err)
	}
	*rec = r
	return nil
}

// finishStep persists a step's result and evidence and appends it to the
// audit trail; a failed audit write fails the step. rec is the record
// beginStep returned.
func (s *Service) finishStep(ctx context.Context, p *modelgate.Promotion, rec *modelgate.StepRecord, result modelgate.StepResult, ev modelgate.Evidence) error {
	r := *rec
	r.EndedAt, r.Outcome = s.now(), result
	if err := r.SetEvidence(ev); err != nil {
		return err
	}
	if err := s.Store.SaveStep(ctx, &r); err != nil {
		return fmt.Errorf("save step %s: %w", r.Step, err)
	}
	*rec = r
	return s.audit(ctx, p, "step."+string(r.Step), string(result), r.Evidence, evidenceDetail(ev))
}

// evidenceDetail is what a step's audit entry says besides the evidence's
// digest: the links, where the step resolved them.
func evidenceDetail(ev modelgate.Evidence) string {
	var links modelgate.Links
	switch e := ev.(type) {
	case modelgate.PreconditionsEvidence:
		links = e.Links
	case modelgate.RollbackEvidence:
		links = e.Links
	}
	if t := links.Text(); t != "" {
		return "links: " + t
	}
	return ""
}

// complete finishes the step and follows the table to where result leads.
func (s *Service) complete(ctx context.Context, p *modelgate.Promotion, rec *modelgate.StepRecord, result modelgate.StepResult, ev modelgate.Evidence) error {
	if err := s.finishStep(ctx, p, rec, result, ev); err != nil {
		return err
	}
	return s.follow(ctx, p, rec.Step, result)
}

func (s *Service) audit(ctx context.Context, p *modelgate.Promotion, action, outcome string, evidence []byte, detail string) error {
	_, err := s.auditEntry(ctx, p, action, outcome, evidence, detail)
	return err
}

// auditEntry appends an entry about p and returns it as written (with its
// sequence number and hash).
func (s *Service) auditEntry(ctx context.Context, p *modelgate.Promotion, action, outcome string, evidence []byte, detail string) (modelgate.AuditEntry, error) {
	e := modelgate.AuditEntry{Time: s.now(), Actor: s.Actor, ActorSource: s.ActorSource, Action: action, Model: p.Model, Version: p.Version, PromotionID: p.ID, Outcome: outcome, Detail: detail}
	if len(evidence) > 0 {
		sum := sha256.Sum256(evidence)
		e.EvidenceDigest = hex.EncodeToString(sum[:])
	}
	e, err := s.Audit.Append(ctx, e)
	if err != nil {
		return e, fmt.Errorf("write audit trail: %w", err)
	}
	return e, nil
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
