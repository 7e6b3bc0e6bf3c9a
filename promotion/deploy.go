package promotion

import (
	"context"
	"fmt"
	"strings"

	"github.com/modelgate/modelgate"
)

// DeployOptions qualify a direct deployment.
type DeployOptions struct {
	// Reason is recorded with the deployment; required with Force.
	Reason string
	// Force deploys a version the registry marks as retired (Archived, or
	// rolled back by modelgate).
	Force bool
}

// Deploy serves version at 100% of production at once, skipping the
// playbook: a model's first deployment (which cannot be a canary) or an
// emergency. It refuses while the model has an unfinished promotion (its
// state would become a lie) and a retired version unless forced with a
// reason; the artifact's digest is verified, and the deployment is audited
// before and after it acts. The registry is not changed.
func (s *Service) Deploy(ctx context.Context, model, version string, o DeployOptions) (modelgate.Deployment, error) {
	if err := s.lock(ctx, model); err != nil {
		return modelgate.Deployment{}, err
	}
	defer s.Store.ReleaseLock(context.WithoutCancel(ctx), model, s.Owner)
	if err := s.refuseDuringPromotion(ctx, model); err != nil {
		return modelgate.Deployment{}, err
	}
	if err := s.checkDeployable(ctx, model, version, o); err != nil {
		return modelgate.Deployment{}, err
	}
	d, err := s.deployment(ctx, model, version)
	if err != nil {
		return d, err
	}
	if err := s.Deployer.CheckTarget(ctx, model); err != nil {
		return d, err
	}
	detail := strings.TrimSpace("model_sha256 " + d.Digest + "; " + o.Reason)
	// Audit first: a production change must never go unrecorded.
	if err := s.auditDeploy(ctx, d, "requested", detail); err != nil {
		return d, err
	}
	if err := s.Deployer.Rollback(ctx, d); err != nil {
		return d, fmt.Errorf("serve %s version %s: %w", model, version, err)
	}
	return d, s.auditDeploy(ctx, d, "serving", detail)
}

// refuseDuringPromotion is ECONFLICT while model has an unfinished promotion.
func (s *Service) refuseDuringPromotion(ctx context.Context, model string) error {
	p, err := s.Store.ActivePromotion(ctx, model)
	switch {
	case err == nil:
		return modelgate.Errorf(modelgate.ECONFLICT, "model %s has an unfinished promotion %s of version %s", model, p.ID, p.Version).
			WithHint("finish it with `modelgate promote %s --resume` or end it with `modelgate rollback %s` first", model, model)
	case modelgate.ErrorCode(err) != modelgate.ENOTFOUND:
		return fmt.Errorf("look for an active promotion: %w", err)
	}
	return nil
}

// checkDeployable refuses a retired version unless forced with a reason.
func (s *Service) checkDeployable(ctx context.Context, model, version string, o DeployOptions) error {
	mv, err := s.Registry.GetVersion(ctx, model, version)
	if err != nil {
		return explainLookup(err, model, version)
	}
	why := retired(mv)
	switch {
	case why == "":
		return nil
	case o.Force && strings.TrimSpace(o.Reason) != "":
		return nil
	}
	return modelgate.Errorf(modelgate.EPRECONDITION, "%s version %s %s", model, version, why).
		WithHint("to serve it anyway, say why: `modelgate deploy %s --version %s --force --reason TEXT`", model, version)
}

// retired says why a version should not go back to production, or "".
func retired(mv *modelgate.ModelVersion) string {
	switch {
	case mv.Tags["modelgate.outcome"] == string(modelgate.OutcomeRolledBack):
		return fmt.Sprintf("was rolled back by promotion %s", mv.Tags["modelgate.promotion_id"])
	case mv.Tags["modelgate.outcome"] == string(modelgate.OutcomeReverted):
		return fmt.Sprintf("was reverted after promotion (%s)", mv.Tags["modelgate.promotion_id"])
	case mv.Stage == modelgate.StageArchived:
		return "is Archived in the registry"
	}
	return ""
}

func (s *Service) auditDeploy(ctx context.Context, d modelgate.Deployment, outcome, detail string) error {
	e := modelgate.AuditEntry{Time: s.now(), Actor: s.Actor, ActorSource: s.ActorSource, Action: "deploy", Model: d.Model, Version: d.Version, Outcome: outcome, Detail: detail}
	if _, err := s.Audit.Append(ctx, e); err != nil {
		return fmt.Errorf("write audit trail: %w", err)
	}
	return nil
}
