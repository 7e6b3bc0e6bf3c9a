package promotion

import (
	"context"
	"fmt"

	"github.com/modelgate/modelgate"
)

// Rollback is a person's rollback of model. An unfinished promotion is
// aborted (see Abort: before its canary took traffic it simply fails; after,
// it goes through the rollback path), whether a live process runs it or not.
// Without one, version — which must be what production serves, put there by
// a modelgate promotion — is reverted to the version it replaced, recorded as
// reverted after promotion. mine is true when this process is to carry it
// out: pass the promotion to Run; otherwise Await it.
func (s *Service) Rollback(ctx context.Context, model, version, reason string) (p *modelgate.Promotion, mine bool, err error) {
	if _, err := s.Store.ActivePromotion(ctx, model); err == nil {
		return s.Abort(ctx, model, reason)
	} else if modelgate.ErrorCode(err) != modelgate.ENOTFOUND {
		return nil, false, fmt.Errorf("look for an active promotion: %w", err)
	}
	if err := s.lock(ctx, model); err != nil {
		return nil, false, err
	}
	p, err = s.revert(ctx, model, version, reason)
	if err != nil {
		_ = s.Store.ReleaseLock(context.WithoutCancel(ctx), model, s.Owner)
		return nil, false, err
	}
	return p, true, nil
}

// revert starts the revert of a promoted version: a promotion that begins at
// the rollback step.
func (s *Service) revert(ctx context.Context, model, version, reason string) (*modelgate.Promotion, error) {
	last, err := s.lastPromoted(ctx, model)
	if err != nil {
		return nil, err
	}
	if version != last.Version {
		return nil, modelgate.Errorf(modelgate.EPRECONDITION, "model %s has no unfinished promotion, and production's version is %s, not %q", model, last.Version, version).
			WithHint("to revert the last promotion, name it: `modelgate rollback %s --version %s --reason TEXT` (version %s comes back)", model, last.Version, last.Previous)
	}
	now := s.now()
	p := &modelgate.Promotion{ID: s.newID(), Model: model, Version: last.Version, Previous: last.Previous, Step: modelgate.StepRollback,
		Actor: s.Actor, StartedAt: now, UpdatedAt: now, ConfigHash: s.ConfigHash,
		Reasons: []string{fmt.Sprintf("Reverted after promotion by %s: %s", s.Actor, reason)}}
	if err := s.Store.CreatePromotion(ctx, p); err != nil {
		return nil, fmt.Errorf("create the revert: %w", err)
	}
	return p, s.audit(ctx, p, "revert.start", "started", nil, reason)
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
