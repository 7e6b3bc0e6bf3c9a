package promotion

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/modelgate/modelgate"
)

// Approve records by's approval of model/version in role, for the
// preconditions. It is refused (EINVALID or EPRECONDITION, the message
// naming the rule) when role is not one of Policy.RequiredApprovals, by is a
// placeholder, by already fills another role of the version, or by is the
// version's author (Policy.AuthorTag) and the author may not approve. A
// refusal changes nothing but the audit trail, which records approvals and
// refusals with who ran modelgate (Actor, ActorSource).
func (s *Service) Approve(ctx context.Context, model, version, role, by string) (*modelgate.Approval, error) {
	a := &modelgate.Approval{Model: model, Version: version, Role: role, By: by}
	return a, s.RecordApproval(ctx, a)
}

// RecordApproval is Approve for an approval built by the caller (the
// server's API); it fills in when and by whom it was recorded. With
// Policy.FourEyes, the person who started the version's unfinished
// promotion may not also approve it (EUNAUTHORIZED).
func (s *Service) RecordApproval(ctx context.Context, a *modelgate.Approval) error {
	a.By = strings.TrimSpace(a.By)
	if a.At.IsZero() {
		a.At = s.now().UTC()
	}
	a.RecordedBy, a.Source = s.Actor, s.ActorSource
	replaced, err := s.checkApproval(ctx, a)
	if err == nil {
		err = s.checkStarterApproves(ctx, a)
	}
	if err != nil {
		return s.auditApproval(ctx, "approval", a, "refused", modelgate.ErrorMessage(err), err)
	}
	if err := s.Store.AddApproval(ctx, a); err != nil {
		return err
	}
	detail := fmt.Sprintf("%s approved as %s", a.By, a.Role)
	if replaced != nil {
		detail += fmt.Sprintf(", replacing %s's approval of %s", replaced.By, day(replaced.At))
	}
	return s.auditApproval(ctx, "approval", a, "approved", detail, nil)
}

// checkStarterApproves applies the four-eyes rule to one approval: who
// started the version's unfinished promotion does not approve it.
func (s *Service) checkStarterApproves(ctx context.Context, a *modelgate.Approval) error {
	if !s.Policy.FourEyes {
		return nil
	}
	p, err := s.Store.ActivePromotion(ctx, a.Model)
	if err == nil && p.Version == a.Version && samePerson(p.Actor, a.By) {
		return modelgate.Errorf(modelgate.EUNAUTHORIZED, "%s started promotion %s of %s version %s and may not also approve it (preconditions.four_eyes)",
			a.By, p.ID, a.Model, a.Version)
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
		if samePerson(a.By, s.Actor) {
			return modelgate.Errorf(modelgate.EPRECONDITION, "%s approved this version as %s and may not also start its promotion (preconditions.four_eyes)", a.By, a.Role).
				WithHint("another person starts it")
		}
	}
	return nil
}

// RevokeApproval withdraws role's approval of model/version on the word of
// the person running modelgate, with a reason; the approval no longer
// counts, and a promotion's preconditions need a new one. ENOTFOUND when
// the role has no approval, ECONFLICT when it is revoked already, EINVALID
// without a reason. Revocations and refusals are audited.
func (s *Service) RevokeApproval(ctx context.Context, model, version, role, reason string) (*modelgate.Approval, error) {
	a := &modelgate.Approval{Model: model, Version: version, Role: role}
	r := &modelgate.Revocation{By: s.Actor, Source: s.ActorSource, Reason: strings.TrimSpace(reason), At: s.now().UTC()}
	err := s.revoke(ctx, a, r)
	if err != nil {
		return nil, s.auditApproval(ctx, "approval.revoke", a, "refused", modelgate.ErrorMessage(err), err)
	}
	return a, s.auditApproval(ctx, "approval.revoke", a, "revoked", fmt.Sprintf("the %s's approval by %s revoked: %s", role, a.By, r.Reason), nil)
}

func (s *Service) revoke(ctx context.Context, a *modelgate.Approval, r *modelgate.Revocation) error {
	if IsPlaceholder(r.Reason) {
		return modelgate.Errorf(modelgate.EINVALID, "a revocation needs a reason (--reason TEXT), not %q", r.Reason)
	}
	if err := s.Store.RevokeApproval(ctx, a.Model, a.Version, a.Role, r); err != nil {
		return err
	}
	all, err := s.Store.Approvals(ctx, a.Model, a.Version)
	if err != nil {
		return fmt.Errorf("read approvals: %w", err)
	}
	for _, x := range all {
		if x.Role == a.Role {
			*a = *x
		}
	}
	return nil
}

// auditApproval appends an approval's (or revocation's) entry; cause, when
// set, is returned after the entry is written.
func (s *Service) auditApproval(ctx context.Context, action string, a *modelgate.Approval, outcome, detail string, cause error) error {
	e := modelgate.AuditEntry{Time: s.now(), Actor: s.Actor, ActorSource: s.ActorSource, Action: action, Model: a.Model, Version: a.Version,
		Outcome: outcome, Detail: "role " + a.Role + ": " + detail}
	if _, err := s.Audit.Append(ctx, e); err != nil {
		return fmt.Errorf("write audit trail: %w", err)
	}
	return cause
}

// checkApproval applies the rules a new approval must meet and returns
// the role's approval it replaces, if any.
func (s *Service) checkApproval(ctx context.Context, a *modelgate.Approval) (*modelgate.Approval, error) {
	if err := s.checkRole(a.Role); err != nil {
		return nil, err
	}
	if IsPlaceholder(a.By) {
		return nil, modelgate.Errorf(modelgate.EINVALID, "the approver's name %q is a placeholder: name the person approving (--by NAME)", a.By)
	}
	mv, err := s.Registry.GetVersion(ctx, a.Model, a.Version)
	if err != nil {
		return nil, explainLookup(err, a.Model, a.Version)
	}
	if msg := s.authorProblem(mv, a); msg != "" {
		return nil, modelgate.Errorf(modelgate.EPRECONDITION, "%s", msg)
	}
	approvals, err := s.Store.Approvals(ctx, a.Model, a.Version)
	if err != nil {
		return nil, fmt.Errorf("read approvals: %w", err)
	}
	var replaced *modelgate.Approval
	for _, other := range approvals {
		if other.Role == a.Role {
			replaced = other
		} else if samePerson(other.By, a.By) && s.lapsed(other) == "" {
			return nil, modelgate.Errorf(modelgate.EPRECONDITION, "%s already approved %s version %s as %s; one person cannot fill two roles of one version: someone else must approve as %s",
				a.By, a.Model, a.Version, other.Role, a.Role).
				WithHint("or revoke that approval first: `modelgate approve %s --revoke --version %s --role %s --reason TEXT`", a.Model, a.Version, other.Role)
		}
	}
	return replaced, nil
}

// checkRole refuses a role that is not configured, naming the ones that are.
func (s *Service) checkRole(role string) error {
	roles := s.Policy.RequiredApprovals
	if slices.Contains(roles, role) {
		return nil
	}
	if len(roles) == 0 {
		return modelgate.Errorf(modelgate.EINVALID, "role %q is not an approval role: preconditions.required_approvals is empty, so no approvals are asked for", role)
	}
	e := modelgate.Errorf(modelgate.EINVALID, "role %q is not an approval role; preconditions.required_approvals names %s", role, strings.Join(roles, ", "))
	if near := nearest(role, roles); near != "" {
		e = e.WithHint("did you mean %s?", near)
	}
	return e
}

// authorProblem says why a's approver may not approve mv as its author,
// or "" when they may.
func (s *Service) authorProblem(mv *modelgate.ModelVersion, a *modelgate.Approval) string {
	tag := s.Policy.AuthorTag
	if s.Policy.AuthorMayApprove || tag == "" {
		return ""
	}
	author := mv.Tags[tag]
	if IsPlaceholder(author) || !samePerson(author, a.By) {
		return ""
	}
	return fmt.Sprintf("%s is the author of %s version %s (tag %s) and may not approve it (preconditions.author_may_approve is false): someone else must approve as %s",
		a.By, mv.Name, mv.Version, tag, a.Role)
}

// lapsed says why a stored approval no longer counts (revoked, expired),
// or "" when it does.
func (s *Service) lapsed(a *modelgate.Approval) string {
	if r := a.Revoked; r != nil {
		return fmt.Sprintf("the %s's approval by %s was revoked by %s on %s: %s", a.Role, a.By, r.By, day(r.At), r.Reason)
	}
	if max := s.Policy.ApprovalMaxAge; max > 0 && s.now().Sub(a.At) > max {
		return fmt.Sprintf("the %s's approval by %s, given on %s, is older than preconditions.approval_max_age (%s)", a.Role, a.By, day(a.At), max)
	}
	return ""
}

// standing re-checks a version's approvals for the preconditions: the
// approvals that count, one per required role, and for every role without
// one the reason.
func (s *Service) standing(mv *modelgate.ModelVersion, approvals []*modelgate.Approval) ([]*modelgate.Approval, []string) {
	byRole := map[string]*modelgate.Approval{}
	for _, a := range approvals {
		byRole[a.Role] = a
	}
	// Earlier approvals first: when one person approved in two roles, the
	// first one counts.
	roles := slices.Clone(s.Policy.RequiredApprovals)
	slices.SortStableFunc(roles, func(x, y string) int { return approvedAt(byRole[x]).Compare(approvedAt(byRole[y])) })
	var counted []*modelgate.Approval
	problems := map[string]string{}
	for _, role := range roles {
		a := byRole[role]
		if msg := s.roleProblem(mv, a, role, counted); msg != "" {
			problems[role] = msg
			continue
		}
		counted = append(counted, a)
	}
	var out []string
	for _, role := range s.Policy.RequiredApprovals {
		if msg, ok := problems[role]; ok {
			out = append(out, fmt.Sprintf("%s (`modelgate approve %s --version %s --role %s --by NAME`)", msg, mv.Name, mv.Version, role))
		}
	}
	return counted, out
}

// roleProblem says why role has no approval that counts, given the
// approvals counted so far; "" when a counts.
func (s *Service) roleProblem(mv *modelgate.ModelVersion, a *modelgate.Approval, role string, counted []*modelgate.Approval) string {
	if a == nil {
		return fmt.Sprintf("approval by the %s is missing", role)
	}
	if msg := s.lapsed(a); msg != "" {
		return msg
	}
	if msg := s.authorProblem(mv, a); msg != "" {
		return "the " + role + "'s approval does not count: " + msg
	}
	for _, c := range counted {
		if samePerson(c.By, a.By) {
			return fmt.Sprintf("the %s's approval does not count: %s approved as %s too, and one person cannot fill two roles of one version", role, a.By, c.Role)
		}
	}
	return ""
}

func approvedAt(a *modelgate.Approval) time.Time {
	if a == nil {
		return time.Time{}
	}
	return a.At
}

func day(t time.Time) string { return t.UTC().Format("2006-01-02 15:04Z") }

// nearest returns the name among names within two edits of s, if one is.
func nearest(s string, names []string) string {
	best, bestD := "", 3
	for _, n := range names {
		if d := editDistance(strings.ToLower(s), strings.ToLower(n)); d < bestD {
			best, bestD = n, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance of a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
