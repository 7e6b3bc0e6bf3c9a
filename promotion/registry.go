package promotion

import (
	"context"
	"fmt"

	"github.com/modelgate/modelgate"
)

// RegistryChange makes a person's change to model's registry entry
// (register, tag, transition) through modelgate: refused while the model
// has an unfinished promotion (the engine's decisions rest on the registry
// it verified), and audited before and after, with who made it.
func (s *Service) RegistryChange(ctx context.Context, model, version, what string, do func(context.Context) error) error {
	if err := s.refuseDuringPromotion(ctx, model); err != nil {
		return err
	}
	e := modelgate.AuditEntry{Time: s.now(), Actor: s.Actor, ActorSource: s.ActorSource, Action: "registry.change", Model: model, Version: version,
		Outcome: "requested", Detail: what}
	if _, err := s.Audit.Append(ctx, e); err != nil {
		return fmt.Errorf("write audit trail: %w", err)
	}
	if err := do(ctx); err != nil {
		e.Time, e.Outcome, e.Detail = s.now(), "failed", what+": "+modelgate.ErrorMessage(err)
		_, _ = s.Audit.Append(context.WithoutCancel(ctx), e)
		return err
	}
	e.Time, e.Outcome = s.now(), "done"
	if _, err := s.Audit.Append(ctx, e); err != nil {
		return fmt.Errorf("write audit trail: %w", err)
	}
	return nil
}
