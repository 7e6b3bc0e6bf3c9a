package promotion

import (
	"context"
	"fmt"

	"github.com/modelgate/modelgate"
)

// RecordApproval records a person's approval of a version for a role (a
// precondition of its promotion). With Policy.FourEyes, one person approves
// a version for one role only, and not a version whose unfinished promotion
// they started; a refusal is audited too. ENOTFOUND when the version is missing; EUNAUTHORIZED when
// the rule refuses.
func (s *Service) RecordApproval(ctx context.Context, ap *modelgate.Approval) error {
	if _, err := s.Registry.GetVersion(ctx, ap.Model, ap.Version); err != nil {
		return err
	}
	if err := s.checkApprover(ctx, ap); err != nil {
		if aerr := s.auditApproval(ctx, ap, "refused", ap.Role+": "+modelgate.ErrorMessage(err)); aerr != nil {
			return aerr
		}
		return err
	}
	if err := s.Store.AddApproval(ctx, ap); err != nil {
		return err
	}
	return s.auditApproval(ctx, ap, "approved", ap.Role)
}

// checkApprover applies the four-eyes rule to one approval.
func (s *Service) checkApprover(ctx context.Context, ap *modelgate.Approval) error {
	if !s.Policy.FourEyes {
		return nil
	}
	have, err := s.Store.Approvals(ctx, ap.Model, ap.Version)
	if err != nil {
		return fmt.Errorf("read approvals: %w", err)
	}
	for _, a := range have {
		if a.By == ap.By && a.Role != ap.Role {
			return modelgate.Errorf(modelgate.EUNAUTHORIZED, "%s approved %s version %s as %s already; one person approves a version for one role only",
				ap.By, ap.Model, ap.Version, a.Role)
		}
	}
	p, err := s.Store.ActivePromotion(ctx, ap.Model)
	if err == nil && p.Version == ap.Version && p.Actor == ap.By {
		return modelgate.Errorf(modelgate.EUNAUTHORIZED, "%s started promotion %s of %s version %s and may not also approve it (preconditions.four_eyes)",
			ap.By, p.ID, ap.Model, ap.Version)
	}
	return nil
}

// checkStarter refuses, with Policy.FourEyes, a promotion started by one
// of the version's approvers.
func (s *Service) checkStarter(approvals []*modelgate.Approval) error {
	if !s.Policy.FourEyes {
		return nil
	}
	for _, a := range approvals {
		if a.By == s.Actor {
			return modelgate.Errorf(modelgate.EPRECONDITION, "%s approved this version as %s and may not also start its promotion (preconditions.four_eyes)", a.By, a.Role).
				WithHint("another person starts it")
		}
	}
	return nil
}

// auditApproval appends an approval's entry: who approved (where the name
// came from when it is the service's actor) and the role.
func (s *Service) auditApproval(ctx context.Context, ap *modelgate.Approval, outcome, detail string) error {
	e := modelgate.AuditEntry{Time: ap.At, Actor: ap.By, Action: "approval", Model: ap.Model, Version: ap.Version, Outcome: outcome, Detail: detail}
	if ap.By == s.Actor {
		e.ActorSource = s.ActorSource
	}
	if e.Time.IsZero() {
		e.Time = s.now()
	}
	if _, err := s.Audit.Append(ctx, e); err != nil {
		return fmt.Errorf("write audit trail: %w", err)
	}
	return nil
}
