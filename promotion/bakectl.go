package promotion

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/modelgate/modelgate"
)

// A person's control of a bake: end it now, or extend it. Both are stored
// beside the promotion (the process watching reads them within AbortPoll)
// and audited with who and why.

// baking returns the model's promotion in its bake, ENOTFOUND without one.
func (s *Service) baking(ctx context.Context, model string) (*modelgate.Promotion, error) {
	p, err := s.Store.ActivePromotion(ctx, model)
	switch {
	case modelgate.ErrorCode(err) == modelgate.ENOTFOUND || err == nil && p.Step != modelgate.StepBake:
		return nil, modelgate.Errorf(modelgate.ENOTFOUND, "model %s has no bake running", model).
			WithHint("`modelgate status %s` shows where its promotion is", model)
	case err != nil:
		return nil, fmt.Errorf("look for an active promotion: %w", err)
	}
	return p, nil
}

// EndBake ends model's bake now: the version stays in production and its
// baseline is taken from the bake so far. When no live process watches the
// bake, this process takes the lock and returns mine=true: pass the
// promotion to Run to finish it. Otherwise Await its end.
func (s *Service) EndBake(ctx context.Context, model, reason string) (p *modelgate.Promotion, mine bool, err error) {
	if p, err = s.baking(ctx, model); err != nil {
		return nil, false, err
	}
	if err := s.requestBakeEnd(ctx, p, reason); err != nil {
		return nil, false, err
	}
	return s.takeOver(ctx, p)
}

func (s *Service) requestBakeEnd(ctx context.Context, p *modelgate.Promotion, reason string) error {
	o := modelgate.Override{By: s.Actor, Source: s.ActorSource, Reason: reason, At: s.now()}
	if err := s.audit(ctx, p, "bake.end_requested", "requested", mustJSON(o), reason); err != nil {
		return err
	}
	if state, err := s.Store.ActionState(ctx, p.ID, bakeEndAction); err != nil || state != "" {
		return err // the first request stands
	}
	return s.Store.SetAction(ctx, p.ID, bakeEndAction, string(mustJSON(o)))
}

// takeOver takes the model's lock when no live process holds it.
func (s *Service) takeOver(ctx context.Context, p *modelgate.Promotion) (*modelgate.Promotion, bool, error) {
	switch err := s.lock(ctx, p.Model); {
	case modelgate.ErrorCode(err) == modelgate.ECONFLICT:
		return p, false, nil
	case err != nil:
		return nil, false, err
	}
	return p, true, nil
}

// ExtendBake watches model's bake d longer. It returns the bake's new end.
func (s *Service) ExtendBake(ctx context.Context, model string, d time.Duration, reason string) (time.Time, error) {
	if d <= 0 {
		return time.Time{}, modelgate.Errorf(modelgate.EINVALID, "extend the bake by a positive duration, not %s", d).WithHint("e.g. --extend 12h")
	}
	p, err := s.baking(ctx, model)
	if err != nil {
		return time.Time{}, err
	}
	ext, _, err := s.bakeRequests(ctx, p.ID)
	if err != nil {
		return time.Time{}, err
	}
	e := modelgate.Extension{Override: modelgate.Override{By: s.Actor, Source: s.ActorSource, Reason: reason, At: s.now()}, Duration: d}
	if err := s.audit(ctx, p, "bake.extended", "extended", mustJSON(e), reason); err != nil {
		return time.Time{}, err
	}
	ext = append(ext, e)
	b, _ := json.Marshal(ext)
	if err := s.Store.SetAction(ctx, p.ID, bakeExtendsAction, string(b)); err != nil {
		return time.Time{}, err
	}
	return s.bakeUntil(ctx, p, ext)
}

// bakeUntil is the bake's end with extensions ext.
func (s *Service) bakeUntil(ctx context.Context, p *modelgate.Promotion, ext []modelgate.Extension) (time.Time, error) {
	rec, err := s.record(ctx, p.ID, modelgate.StepBake)
	if err != nil || rec == nil {
		return time.Time{}, err
	}
	until := bakeEvidence(rec).Started.Add(s.bakePolicy().Duration)
	for _, e := range ext {
		until = until.Add(e.Duration)
	}
	return until, nil
}

// bakeEndRequested reports whether a person asked to end the bake.
func (s *Service) bakeEndRequested(ctx context.Context, p *modelgate.Promotion) (bool, error) {
	if p.Step != modelgate.StepBake {
		return false, nil
	}
	state, err := s.Store.ActionState(ctx, p.ID, bakeEndAction)
	return state != "", err
}

// settleBake lets a new promotion of another version start while the
// model's previous promotion bakes: with bake.on_new_promotion "end" (the
// default) the bake is ended, recording why; with "wait" the new promotion
// waits for it, telling the person how long and how to end it.
func (s *Service) settleBake(ctx context.Context, model, version string) error {
	p, err := s.Store.ActivePromotion(ctx, model)
	if modelgate.ErrorCode(err) == modelgate.ENOTFOUND || err == nil && (p.Step != modelgate.StepBake || p.Version == version) {
		return nil
	} else if err != nil {
		return fmt.Errorf("look for an active promotion: %w", err)
	}
	if s.bakePolicy().OnNewPromotion == "wait" {
		s.emit(p, fmt.Sprintf("waiting for the bake of version %s to end (bake.on_new_promotion: wait); `modelgate bake %s --end --reason TEXT` ends it now", p.Version, model), nil)
	} else {
		if err := s.requestBakeEnd(ctx, p, fmt.Sprintf("a promotion of version %s starts (bake.on_new_promotion: end)", version)); err != nil {
			return err
		}
		s.emit(p, fmt.Sprintf("ending the bake of version %s: a promotion of version %s starts", p.Version, version), nil)
	}
	// Nobody watches the bake: watch it here to its end (at once, when it
	// was ended), then start.
	if _, mine, err := s.takeOver(ctx, p); err != nil {
		return err
	} else if mine {
		watcher := *s
		watcher.DetachBake = false
		_, err := watcher.Run(ctx, p)
		return err
	}
	_, err = s.Await(ctx, p.ID, nil)
	return err
}

// BakeStatus is a running bake as a person sees it: the promotion, the
// bake's figures and alerts at its last look, its end with extensions,
// and who watches it ("" when no live process does).
type BakeStatus struct {
	Promotion *modelgate.Promotion   `json:"promotion"`
	Until     time.Time              `json:"until"`
	Evidence  modelgate.BakeEvidence `json:"evidence"`
	Watcher   string                 `json:"watcher,omitempty"`
}

// Bake returns model's running bake; ENOTFOUND without one.
func (s *Service) Bake(ctx context.Context, model string) (*BakeStatus, error) {
	p, err := s.baking(ctx, model)
	if err != nil {
		return nil, err
	}
	rec, err := s.record(ctx, p.ID, modelgate.StepBake)
	if err != nil {
		return nil, err
	}
	st := &BakeStatus{Promotion: p}
	if rec != nil {
		st.Evidence = bakeEvidence(rec)
	}
	ext, _, err := s.bakeRequests(ctx, p.ID)
	if err != nil {
		return nil, err
	}
	if st.Until, err = s.bakeUntil(ctx, p, ext); err != nil {
		return nil, err
	}
	st.Watcher, _, _ = s.Store.LockHolder(ctx, model)
	if st.Watcher != "" && s.HolderGone != nil && s.HolderGone(st.Watcher) {
		st.Watcher = ""
	}
	return st, nil
}
