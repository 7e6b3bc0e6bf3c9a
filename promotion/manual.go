package promotion

import (
	"context"
	"fmt"

	"github.com/modelgate/modelgate"
)

// Rollback is a person's rollback of model. An unfinished promotion is
// ended: before its canary took traffic it simply fails (production was
// never touched); after, it goes through the rollback path. Without an
// unfinished promotion, the last promoted version is reverted to the version
// it replaced. The promotion to run is returned; pass it to Run.
func (s *Service) Rollback(ctx context.Context, model, reason string) (*modelgate.Promotion, error) {
	if err := s.lock(ctx, model); err != nil {
		return nil, err
	}
	p, err := s.rollbackTarget(ctx, model, reason)
	if err != nil {
		_ = s.Store.ReleaseLock(context.WithoutCancel(ctx), model, s.Owner)
	}
	return p, err
}

func (s *Service) rollbackTarget(ctx context.Context, model, reason string) (*modelgate.Promotion, error) {
	p, err := s.Store.ActivePromotion(ctx, model)
	if err == nil {
		return p, s.abort(ctx, p, reason)
	}
	if modelgate.ErrorCode(err) != modelgate.ENOTFOUND {
		return nil, fmt.Errorf("look for an active promotion: %w", err)
	}
	last, err := s.lastPromoted(ctx, model)
	if err != nil {
		return nil, err
	}
	now := s.now()
	p = &modelgate.Promotion{ID: s.newID(), Model: model, Version: last.Version, Previous: last.Previous, Step: modelgate.StepRollback,
		Actor: s.Actor, StartedAt: now, UpdatedAt: now, Reasons: []string{reason}}
	if err := s.Store.CreatePromotion(ctx, p); err != nil {
		return nil, fmt.Errorf("create rollback: %w", err)
	}
	return p, s.audit(ctx, p, "rollback.start", "started", nil, reason)
}

func (s *Service) abort(ctx context.Context, p *modelgate.Promotion, reason string) error {
	p.Reasons = append(p.Reasons, reason)
	p.Outcome = modelgate.OutcomeNone
	if err := s.audit(ctx, p, "rollback.start", "started", nil, reason); err != nil {
		return err
	}
	if !touchesProduction(p.Step) {
		return s.end(ctx, p, modelgate.OutcomeFailed, p.Step)
	}
	return s.advance(ctx, p, modelgate.StepRollback)
}

// lastPromoted finds the promotion that put today's Production version there.
func (s *Service) lastPromoted(ctx context.Context, model string) (*modelgate.Promotion, error) {
	current, problem, err := s.mode().Current(ctx, s.Registry, model, "")
	if err != nil {
		return nil, err
	}
	if problem != "" {
		return nil, modelgate.Errorf(modelgate.ENOTFOUND, "model %s has nothing to roll back: %s", model, problem)
	}
	all, err := s.Store.ListPromotions(ctx, model)
	if err != nil {
		return nil, fmt.Errorf("list promotions: %w", err)
	}
	for _, p := range all {
		if p.Outcome == modelgate.OutcomePromoted && p.Version == current {
			return p, nil
		}
	}
	return nil, modelgate.Errorf(modelgate.ENOTFOUND, "model %s has nothing to roll back: its Production version %q was not promoted by modelgate", model, current).
		WithHint("`modelgate status %s` shows its history", model)
}
