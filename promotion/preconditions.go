package promotion

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/modelgate/modelgate"
)

// preconditions checks, without changing anything, that the playbook may
// start: the candidate is in Staging with its tags, approved, there is a
// Production version to roll back to, and the platform is ready. It sets
// p.Previous. Every failed check is listed in one error.
func (s *Service) preconditions(ctx context.Context, p *modelgate.Promotion) (*modelgate.PreconditionsEvidence, error) {
	mv, err := s.Registry.GetVersion(ctx, p.Model, p.Version)
	if err != nil {
		return nil, explainLookup(err, p.Model, p.Version)
	}
	var problems []string
	problems = append(problems, s.checkCandidate(mv)...)
	approvals, missing, err := s.checkApprovals(ctx, mv)
	if err != nil {
		return nil, err
	}
	problems = append(problems, missing...)
	prev, msg, err := s.previousVersion(ctx, p)
	if err != nil {
		return nil, err
	}
	if msg != "" {
		problems = append(problems, msg)
	}
	split, msg, err := s.checkPlatform(ctx, p.Model, prev)
	if err != nil {
		return nil, err
	}
	if msg != "" {
		problems = append(problems, msg)
	}
	ev := &modelgate.PreconditionsEvidence{Version: mv, Previous: prev, Approvals: approvals, Traffic: split}
	problems = append(problems, s.linksAndMonitoring(ctx, p, ev)...)
	if len(problems) > 0 {
		return nil, modelgate.Errorf(modelgate.EPRECONDITION, "cannot promote %s version %s:\n  - %s", p.Model, p.Version, strings.Join(problems, "\n  - "))
	}
	p.Previous = prev
	return ev, nil
}

// linksAndMonitoring resolves the promotion's links and checks its
// monitoring into ev, returning the problems that stop it.
func (s *Service) linksAndMonitoring(ctx context.Context, p *modelgate.Promotion, ev *modelgate.PreconditionsEvidence) []string {
	q := *p
	q.Previous = ev.Previous
	ev.Links, ev.LinkNotes = s.resolveLinks(ev.Version, &q)
	var problems []string
	ev.Monitoring, problems = s.checkMonitoring(ctx, &q, ev.Links)
	return problems
}

func explainLookup(err error, model, version string) error {
	if modelgate.ErrorCode(err) == modelgate.ENOTFOUND {
		return &modelgate.Error{Code: modelgate.ENOTFOUND, Message: modelgate.ErrorMessage(err), Err: err,
			Hint: fmt.Sprintf("`modelgate registry show %s` lists the registered versions", model)}
	}
	return fmt.Errorf("read %s version %s: %w", model, version, err)
}

func (s *Service) checkCandidate(mv *modelgate.ModelVersion) []string {
	var problems []string
	if msg := s.mode().CheckCandidate(mv); msg != "" {
		problems = append(problems, msg)
	}
	var missing []string
	for _, t := range s.Policy.RequiredTags {
		v := mv.Tags[t]
		switch {
		case strings.TrimSpace(v) == "":
			missing = append(missing, t)
		case IsPlaceholder(v):
			problems = append(problems, fmt.Sprintf("version %s's required tag %s holds the placeholder %q, not a value (set it with `modelgate registry tag %s %s %s=VALUE`)", mv.Version, t, v, mv.Name, mv.Version, t))
		}
	}
	if len(missing) > 0 {
		problems = append(problems, fmt.Sprintf("version %s lacks the required tags %s (set them with `modelgate registry tag %s %s KEY=VALUE`)", mv.Version, strings.Join(missing, ", "), mv.Name, mv.Version))
	}
	if mv.Tags[modelgate.TagModelSHA256] == "" && !s.Policy.AllowMissingDigest {
		problems = append(problems, fmt.Sprintf("version %s has no %s tag, so its artifact cannot be verified", mv.Version, modelgate.TagModelSHA256))
	}
	return problems
}

// checkApprovals re-checks the version's approvals: each required role
// needs one that counts now (not revoked, not expired, not by the author,
// not by someone filling another role).
func (s *Service) checkApprovals(ctx context.Context, mv *modelgate.ModelVersion) ([]*modelgate.Approval, []string, error) {
	approvals, err := s.Store.Approvals(ctx, mv.Name, mv.Version)
	if err != nil {
		return nil, nil, fmt.Errorf("read approvals: %w", err)
	}
	counted, problems := s.standing(mv, approvals)
	slices.SortFunc(counted, func(a, b *modelgate.Approval) int { return strings.Compare(a.Role, b.Role) })
	return counted, problems, nil
}

// previousVersion finds the production version to roll back to.
func (s *Service) previousVersion(ctx context.Context, p *modelgate.Promotion) (string, string, error) {
	return s.mode().Current(ctx, s.Registry, p.Model, p.Version)
}

// checkPlatform verifies the platform is reachable and serves the registry's
// Production version with no canary.
func (s *Service) checkPlatform(ctx context.Context, model, prev string) (modelgate.TrafficSplit, string, error) {
	if err := s.Deployer.CheckTarget(ctx, model); err != nil {
		if c := modelgate.ErrorCode(err); c == modelgate.EPRECONDITION || c == modelgate.EUNAVAILABLE || c == modelgate.EUNAUTHORIZED {
			return modelgate.TrafficSplit{}, "the platform is not ready: " + modelgate.ErrorMessage(err), nil
		}
		return modelgate.TrafficSplit{}, "", fmt.Errorf("check the platform: %w", err)
	}
	split, err := s.Deployer.Traffic(ctx, model)
	if err != nil {
		return split, "", fmt.Errorf("read production traffic: %w", err)
	}
	switch {
	case split.Canary != "":
		return split, fmt.Sprintf("production already runs a canary of version %s at %d%%; finish or roll it back first", split.Canary, split.CanaryPercent), nil
	case prev != "" && split.Stable != prev:
		return split, fmt.Sprintf("production serves version %q but the registry's Production version is %s; make them agree before promoting", split.Stable, prev), nil
	}
	return split, "", nil
}
