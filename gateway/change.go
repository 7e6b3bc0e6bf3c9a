package gateway

import (
	"github.com/modelgate/modelgate"
)

// change applies f to the state of model name: under adminMu it computes
// the next state (loading models, which may be slow), then persists it and
// swaps it in (commit). When f returns the current
// state unchanged nothing is written and measurements keep running, which
// is what makes every admin call idempotent.
func (s *Server) change(name string, f func(cur modelState) (modelState, error)) (Status, error) {
	s.adminMu.Lock()
	defer s.adminMu.Unlock()
	cur, _ := s.state(name)
	next, err := f(cur)
	if err != nil {
		return Status{}, err
	}
	if next == cur {
		return statusOf(name, cur), nil
	}
	if err := s.commit(name, next); err != nil {
		return Status{}, err
	}
	s.release(cur)
	st := statusOf(name, next)
	s.opts.Logger.Info("gateway serving", "model", name, "stable", st.Traffic.Stable,
		"canary", st.Traffic.Canary, "canary_percent", st.Traffic.CanaryPercent, "staging", st.Staging)
	return st, nil
}

// commit saves the state file with name serving next and swaps next in,
// under stateMu, so a snapshot never writes a view older than one written.
func (s *Server) commit(name string, next modelState) error {
	s.stateMu.Lock()
	defer s.stateMu.Unlock()
	if _, err := s.saveState(name, &next); err != nil {
		return err
	}
	s.mu.Lock()
	s.models[name] = next
	s.mu.Unlock()
	return nil
}

// withStaging serves d in staging.
func (s *Server) withStaging(cur modelState, d modelgate.Deployment) (modelState, error) {
	if cur.staging.sameDeployment(d) {
		return cur, nil
	}
	rev, err := s.revisionFor(d, append(cur.prod.revisions(), cur.staging)...)
	if err != nil {
		return cur, err
	}
	cur.staging = rev
	return cur, nil
}

// withCanary serves d as canary at percent, mirroring mirror percent of
// the stable requests to it, or as stable at 100% when production has no
// stable revision yet (the first deploy cannot be a canary, as in KServe).
// A new mirror share is a new split: its window starts again.
func (s *Server) withCanary(cur modelState, d modelgate.Deployment, percent, mirror int) (modelState, error) {
	if percent < 1 || percent > 99 {
		return cur, modelgate.Errorf(modelgate.EINVALID, "canary percent must be between 1 and 99, not %d", percent)
	}
	if mirror < 0 || mirror > 100 {
		return cur, modelgate.Errorf(modelgate.EINVALID, "mirror percent must be between 0 and 100, not %d", mirror)
	}
	p := cur.prod
	switch {
	case p == nil:
		return s.withStable(cur, d)
	case p.stable.sameDeployment(d) && p.canary == nil:
		return cur, nil // the first deploy made it stable already
	case p.stable.dep.Version == d.Version:
		return cur, modelgate.Errorf(modelgate.ECONFLICT,
			"version %s of model %q is the stable revision; it cannot also be the canary", d.Version, d.Model)
	case p.canary.sameDeployment(d) && p.percent == percent && p.mirror == mirror:
		return cur, nil
	}
	rev, err := s.revisionFor(d, p.canary, cur.staging)
	if err != nil {
		return cur, err
	}
	cur.prod = newProduction(p.stable, rev, percent, mirror, s.opts.Now())
	return cur, nil
}

// promoted makes the canary version stable at 100%.
func (s *Server) promoted(name string, cur modelState, version string) (modelState, error) {
	p := cur.prod
	switch {
	case p == nil:
		return cur, modelgate.Errorf(modelgate.ENOTFOUND, "model %q is not served in production", name)
	case p.canary != nil && p.canary.dep.Version == version:
		cur.prod = newProduction(p.canary, nil, 0, 0, s.opts.Now())
		return cur, nil
	case p.canary == nil && p.stable.dep.Version == version:
		return cur, nil
	}
	t := p.traffic()
	return cur, modelgate.Errorf(modelgate.ECONFLICT,
		"cannot promote version %s of model %q: production serves stable %s and canary %q",
		version, name, t.Stable, t.Canary)
}

// withStable serves d as stable at 100% and removes any canary.
func (s *Server) withStable(cur modelState, d modelgate.Deployment) (modelState, error) {
	p := cur.prod
	if p != nil && p.canary == nil && p.stable.sameDeployment(d) {
		return cur, nil
	}
	rev, err := s.revisionFor(d, append(p.revisions(), cur.staging)...)
	if err != nil {
		return cur, err
	}
	cur.prod = newProduction(rev, nil, 0, 0, s.opts.Now())
	return cur, nil
}

// revisions returns production's revisions, stable first; nil-safe.
func (p *production) revisions() []*revision {
	if p == nil {
		return nil
	}
	return []*revision{p.stable, p.canary}
}
