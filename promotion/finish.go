package promotion

import (
	"context"
	"fmt"
	"strings"

	"github.com/modelgate/modelgate"
)

// decision is playbook step 6: it records what the window decided (or a
// person, for a held promotion), with the reasons and the checks behind it.
func (s *Service) decision(ctx context.Context, p *modelgate.Promotion) error {
	rec, err := s.beginStep(ctx, p, modelgate.StepDecision, nil)
	if err != nil {
		return err
	}
	win, err := s.record(ctx, p.ID, modelgate.StepWindow)
	if err != nil {
		return err
	}
	if win == nil || (win.Outcome != modelgate.ResultPromote && win.Outcome != modelgate.ResultRollback) {
		return modelgate.Errorf(modelgate.EINTERNAL, "promotion %s reached the decision without a window decision", p.ID)
	}
	ev := modelgate.DecisionEvidence{Decision: modelgate.DecisionPromote, Reasons: p.Reasons}
	if win.Outcome == modelgate.ResultRollback {
		ev.Decision = modelgate.DecisionRollback
	}
	w := windowEvidence(win)
	if w.Judgement != nil {
		ev.Checks = w.Judgement.Checks
	}
	ev.Accepted = w.Accepted
	s.emit(p, fmt.Sprintf("decision: %s", ev.Decision), nil)
	return s.complete(ctx, p, rec, modelgate.StepResult(ev.Decision), ev)
}

// rollout is playbook step 7: all traffic to the new version, then the
// registry: the new version to Production, the previous one Archived.
func (s *Service) rollout(ctx context.Context, p *modelgate.Promotion) error {
	rec, err := s.beginStep(ctx, p, modelgate.StepRollout, nil)
	if err != nil {
		return err
	}
	if changed, err := s.registryChanged(ctx, p); err != nil {
		return err
	} else if changed != "" {
		p.Reasons = registryChangedReasons(p, changed)
		return s.complete(ctx, p, rec, modelgate.ResultFailed, modelgate.RolloutEvidence{Replaced: p.Previous, RegistryMode: s.mode().Name(), Error: changed})
	}
	want := modelgate.TrafficSplit{Stable: p.Version}
	err = s.act(ctx, p, "promote_traffic", s.trafficIs(p.Model, want), func(ctx context.Context) error {
		return s.Deployer.Promote(ctx, p.Model, p.Version)
	})
	if err != nil {
		return err
	}
	if err := s.verifySplit(ctx, p.Model, want); err != nil {
		return err
	}
	if err := s.mode().Promote(ctx, s, p); err != nil {
		return err
	}
	if err := s.tagOutcome(ctx, p, modelgate.OutcomePromoted); err != nil {
		return err
	}
	s.emit(p, fmt.Sprintf("version %s serves 100%% of production and the registry marks it as production (%s mode), replacing %s", p.Version, s.mode().Name(), p.Previous), nil)
	ev := modelgate.RolloutEvidence{Traffic: want, Production: p.Version, Replaced: p.Previous, RegistryMode: s.mode().Name()}
	return s.complete(ctx, p, rec, modelgate.ResultOK, ev)
}

func (s *Service) setStage(ctx context.Context, p *modelgate.Promotion, action, version string, stage modelgate.Stage, archiveExisting bool) error {
	// Done means the whole effect is there: with archiveExisting, also no
	// other version left in the stage (someone may have put one there).
	done := func(ctx context.Context) (bool, error) {
		vs, err := s.Registry.ListVersions(ctx, p.Model)
		if err != nil {
			return false, err
		}
		ok := false
		for _, v := range vs {
			switch {
			case v.Version == version:
				ok = v.Stage == stage
			case archiveExisting && v.Stage == stage:
				return false, nil
			}
		}
		return ok, nil
	}
	return s.act(ctx, p, action, done, func(ctx context.Context) error {
		_, err := s.Registry.TransitionStage(ctx, p.Model, version, stage, archiveExisting)
		return err
	})
}

// tagOutcome records the outcome on the version itself, so the registry
// tells the story without modelgate's database.
func (s *Service) tagOutcome(ctx context.Context, p *modelgate.Promotion, o modelgate.Outcome) error {
	tags := map[string]string{
		"modelgate.outcome":      string(o),
		"modelgate.promotion_id": p.ID,
		"modelgate.decided_at":   s.now().UTC().Format("2006-01-02T15:04:05Z"),
	}
	if o == modelgate.OutcomePromoted {
		tags["modelgate.promoted_at"] = tags["modelgate.decided_at"]
	}
	done := func(ctx context.Context) (bool, error) {
		mv, err := s.Registry.GetVersion(ctx, p.Model, p.Version)
		return err == nil && mv.Tags["modelgate.outcome"] == string(o) && mv.Tags["modelgate.promotion_id"] == p.ID, err
	}
	// One action per outcome: a version promoted, then rolled back after
	// its bake, is tagged twice.
	action := "registry_tags"
	if o != modelgate.OutcomePromoted {
		action += "_" + string(o)
	}
	return s.act(ctx, p, action, done, func(ctx context.Context) error {
		for _, k := range []string{"modelgate.outcome", "modelgate.promotion_id", "modelgate.decided_at", "modelgate.promoted_at"} {
			if v, ok := tags[k]; ok {
				if err := s.Registry.SetVersionTag(ctx, p.Model, p.Version, k, v); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// baseline is playbook step 8's last act: production's figures over the
// bake (the canary's, when there was no bake) become the baseline the next
// release is compared with, with the version's training reference.
func (s *Service) baseline(ctx context.Context, p *modelgate.Promotion) error {
	rec, err := s.beginStep(ctx, p, modelgate.StepBaseline, nil)
	if err != nil {
		return err
	}
	steps, err := s.Store.Steps(ctx, p.ID)
	if err != nil {
		return fmt.Errorf("read steps: %w", err)
	}
	var ev modelgate.BaselineEvidence
	if b, ok := modelgate.FindEvidence[modelgate.BakeEvidence](steps); ok && b.Total != nil && b.Total.Requests > 0 {
		ev.Baseline, ev.Source = b.Total, "bake"
	} else if w, ok := modelgate.FindEvidence[modelgate.WindowEvidence](steps); ok && w.Figures != nil {
		ev.Baseline, ev.Source = &w.Figures.Canary, "canary"
	}
	if ev.Reference, err = s.reference(ctx, p); err != nil {
		return err
	}
	return s.complete(ctx, p, rec, modelgate.ResultOK, ev)
}

// rollback sends all traffic back to the previous version, re-deploying its
// spec, and records the failed version as Archived, keeping the evidence.
func (s *Service) rollback(ctx context.Context, p *modelgate.Promotion) error {
	rec, err := s.beginStep(ctx, p, modelgate.StepRollback, nil)
	if err != nil {
		return err
	}
	prev, err := s.deployment(ctx, p.Model, p.Previous)
	if err != nil {
		return err
	}
	ev, err := s.rollbackEvidence(ctx, p)
	if err != nil {
		return err
	}
	want := modelgate.TrafficSplit{Stable: p.Previous}
	logs, logsErr := s.revisionLogs(ctx, p.Model) // read while the canary's pods still run
	s.emit(p, "rolling back: all traffic to version "+p.Previous, nil)
	err = s.act(ctx, p, "rollback_traffic", s.trafficIs(p.Model, want), func(ctx context.Context) error {
		return s.Deployer.Rollback(ctx, prev)
	})
	if err != nil {
		return err
	}
	if err := s.verifySplit(ctx, p.Model, want); err != nil {
		return err
	}
	if err := s.mode().Rollback(ctx, s, p); err != nil {
		return err
	}
	result, err := s.rollbackResult(ctx, p)
	if err != nil {
		return err
	}
	if err := s.tagOutcome(ctx, p, rollbackOutcome(result)); err != nil {
		return err
	}
	ev.Traffic, ev.Logs, ev.LogsError, ev.Reverted = want, logs, logsErr, result == modelgate.ResultReverted
	return s.complete(ctx, p, rec, result, ev)
}

// registryChanged re-reads the registry before the rollout's first action
// and says what someone changed outside modelgate since the preconditions:
// the candidate is no longer the candidate, or production is no longer the
// version the promotion replaces (or is two versions at once).
func (s *Service) registryChanged(ctx context.Context, p *modelgate.Promotion) (string, error) {
	if state, err := s.Store.ActionState(ctx, p.ID, "promote_traffic"); err != nil || state != "" {
		return "", err // the rollout began: its own actions changed the registry
	}
	mv, err := s.Registry.GetVersion(ctx, p.Model, p.Version)
	if err != nil {
		return "", fmt.Errorf("re-read %s version %s: %w", p.Model, p.Version, err)
	}
	if msg := s.mode().CheckCandidate(mv); msg != "" {
		return msg, nil
	}
	current, problem, err := s.mode().Current(ctx, s.Registry, p.Model, p.Version)
	switch {
	case err != nil:
		return "", fmt.Errorf("re-read %s's production version: %w", p.Model, err)
	case problem != "":
		return problem, nil
	case current != p.Previous:
		return fmt.Sprintf("the registry's production version is now %s, not %s", current, p.Previous), nil
	}
	return "", nil
}

func registryChangedReasons(p *modelgate.Promotion, changed string) []string {
	return []string{"The registry changed outside modelgate during the promotion, so it is not rolled out: " + changed +
		"; production goes back to version " + p.Previous + "."}
}

// rollbackEvidence reads both versions' tags before the registry changes;
// a revert, which has no preconditions, resolves its links here.
func (s *Service) rollbackEvidence(ctx context.Context, p *modelgate.Promotion) (modelgate.RollbackEvidence, error) {
	ev := modelgate.RollbackEvidence{Archived: p.Version, Reasons: p.Reasons}
	for v, tags := range map[string]*map[string]string{p.Version: &ev.VersionTags, p.Previous: &ev.PreviousTags} {
		mv, err := s.Registry.GetVersion(ctx, p.Model, v)
		if err != nil {
			return ev, fmt.Errorf("read %s version %s: %w", p.Model, v, err)
		}
		*tags = mv.Tags
		if v == p.Version {
			ev.Links, _ = s.resolveLinks(mv, p)
		}
	}
	pre, err := s.record(ctx, p.ID, modelgate.StepPreconditions)
	if err != nil || pre != nil {
		ev.Links = modelgate.Links{} // the preconditions resolved them
	}
	return ev, err
}

// endDetail is the promotion's end entry's detail: its first reason and
// its links.
func (s *Service) endDetail(ctx context.Context, p *modelgate.Promotion) string {
	var parts []string
	if len(p.Reasons) > 0 {
		parts = append(parts, p.Reasons[0])
	}
	if t := s.links(ctx, p).Text(); t != "" {
		parts = append(parts, "links: "+t)
	}
	return strings.Join(parts, "; ")
}

// links returns the links the promotion resolved, none when its records
// cannot be read.
func (s *Service) links(ctx context.Context, p *modelgate.Promotion) modelgate.Links {
	steps, err := s.Store.Steps(ctx, p.ID)
	if err != nil {
		return modelgate.Links{}
	}
	return modelgate.LinksOf(steps)
}

// rollbackOutcome is how a rollback that recorded result ends the
// promotion (a judged rollback passes through the incident step first).
func rollbackOutcome(result modelgate.StepResult) modelgate.Outcome {
	switch result {
	case modelgate.ResultRollback:
		return modelgate.OutcomeRolledBack
	case modelgate.ResultReverted:
		return modelgate.OutcomeReverted
	}
	return modelgate.OutcomeFailed
}

// rollbackResult is rollback when the judge found the canary worse, or an
// alert fired in the bake, reverted when a person reverted a promoted
// version, and ok when the rollback ended a promotion after an error or a
// person's abort.
func (s *Service) rollbackResult(ctx context.Context, p *modelgate.Promotion) (modelgate.StepResult, error) {
	steps, err := s.Store.Steps(ctx, p.ID)
	if err != nil {
		return "", fmt.Errorf("read steps: %w", err)
	}
	for _, r := range steps {
		if (r.Step == modelgate.StepDecision || r.Step == modelgate.StepBake) && r.Outcome == modelgate.ResultRollback {
			return modelgate.ResultRollback, nil
		}
	}
	// A person's revert of a promoted version starts at the rollback step.
	if len(steps) > 0 && steps[0].Step == modelgate.StepRollback {
		return modelgate.ResultReverted, nil
	}
	return modelgate.ResultOK, nil
}

// end finishes a promotion: audit, the audit anchor kept outside the
// trail (on the version in the registry, in the report), records, outcome.
func (s *Service) end(ctx context.Context, p *modelgate.Promotion, o modelgate.Outcome, last modelgate.Step) error {
	detail := s.endDetail(ctx, p)
	// Audit before persisting the end: a crash in between repeats the entry
	// on resume rather than losing it. Once the entry's anchor is saved, a
	// resume keeps it, so the registry is tagged with one anchor, once.
	if p.AuditAnchor == "" {
		e, err := s.auditEntry(ctx, p, "promotion.end", string(o), mustJSON(p), detail)
		if err != nil {
			return err
		}
		p.AuditAnchor = fmt.Sprintf("%d:%s", e.Seq, e.Hash)
		if err := s.advance(ctx, p, p.Step); err != nil {
			return err
		}
	}
	if err := s.anchorInRegistry(ctx, p, o); err != nil {
		return err
	}
	if err := s.writeRecords(ctx, p, o); err != nil {
		return err
	}
	p.Outcome, p.EndedAt = o, s.now()
	if err := s.advance(ctx, p, modelgate.StepDone); err != nil {
		return err
	}
	s.emit(p, fmt.Sprintf("promotion %s: %s", p.ID, o), nil)
	// After the last write, so a resumed promotion does not announce twice.
	s.notify(ctx, p, string(o), fmt.Sprintf("%s version %s: %s (previous version %s)", p.Model, p.Version, o, p.Previous))
	return nil
}

func (s *Service) writeRecords(ctx context.Context, p *modelgate.Promotion, o modelgate.Outcome) error {
	if s.Records == nil {
		return nil
	}
	steps, err := s.Store.Steps(ctx, p.ID)
	if err != nil {
		return fmt.Errorf("read steps: %w", err)
	}
	final := *p
	final.Outcome, final.EndedAt = o, s.now()
	if err := s.Records.Write(ctx, &final, steps); err != nil {
		return fmt.Errorf("write records: %w", err)
	}
	return nil
}

// anchorInRegistry tags the version whose production fate was decided with
// the audit trail's entry of that decision, so a trail rewritten later (all
// hashes recomputed) disagrees with a record held elsewhere.
func (s *Service) anchorInRegistry(ctx context.Context, p *modelgate.Promotion, o modelgate.Outcome) error {
	if o != modelgate.OutcomePromoted && o != modelgate.OutcomeRolledBack && o != modelgate.OutcomeReverted {
		return nil
	}
	const tag = "modelgate.audit_anchor"
	done := func(ctx context.Context) (bool, error) {
		mv, err := s.Registry.GetVersion(ctx, p.Model, p.Version)
		return err == nil && mv.Tags[tag] == p.AuditAnchor, err
	}
	return s.act(ctx, p, "registry_audit_anchor", done, func(ctx context.Context) error {
		return s.Registry.SetVersionTag(ctx, p.Model, p.Version, tag, p.AuditAnchor)
	})
}
