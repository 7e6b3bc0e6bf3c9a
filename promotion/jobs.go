package promotion

import (
	"context"
	"time"

	"github.com/modelgate/modelgate"
)

// The acts a Runner takes for people: each one that leaves a promotion to
// run starts a job for it.

// StartPromotion starts model/version's promotion as a job. Asked again
// while this runner runs that version's promotion, it returns it.
func (r *Runner) StartPromotion(ctx context.Context, model, version string) (*modelgate.Promotion, error) {
	if err := r.standby(); err != nil {
		return nil, err
	}
	if j := r.running(model); j != nil && j.id != "" && j.version == version {
		p, err := r.service(ctx).Store.GetPromotion(ctx, j.id)
		return p, err
	}
	if !r.reserve(model) {
		return nil, r.busy(model)
	}
	svc := r.service(ctx)
	_, activeErr := svc.Store.ActivePromotion(ctx, model)
	p, err := svc.Start(ctx, model, version)
	if err != nil {
		r.unreserve(model)
		return nil, err
	}
	if r.Observer != nil && modelgate.ErrorCode(activeErr) == modelgate.ENOTFOUND {
		r.Observer.Started(p)
	}
	r.launch(svc, p)
	return p, nil
}

// ResumePromotion resumes model's unfinished promotion as a job.
func (r *Runner) ResumePromotion(ctx context.Context, model string) (*modelgate.Promotion, error) {
	return r.take(ctx, model, func(svc *Service) (*modelgate.Promotion, error) { return svc.Resume(ctx, model) })
}

// AcceptPromotion accepts model's held promotion and rolls it out as a job.
func (r *Runner) AcceptPromotion(ctx context.Context, model, reason string) (*modelgate.Promotion, error) {
	if reason == "" {
		return nil, modelgate.Errorf(modelgate.EINVALID, "accepting a held promotion needs a reason, for the records")
	}
	return r.take(ctx, model, func(svc *Service) (*modelgate.Promotion, error) { return svc.Accept(ctx, model, reason) })
}

// take runs a person's act that leaves model's promotion to this runner.
func (r *Runner) take(ctx context.Context, model string, act func(*Service) (*modelgate.Promotion, error)) (*modelgate.Promotion, error) {
	if err := r.standby(); err != nil {
		return nil, err
	}
	if !r.reserve(model) {
		return nil, r.busy(model)
	}
	svc := r.service(ctx)
	p, err := act(svc)
	if err != nil {
		r.unreserve(model)
		return nil, err
	}
	r.launch(svc, p)
	return p, nil
}

// AbortPromotion stores the abort request; a job of this runner or another
// process acts on it within a second, and a held or crashed promotion is
// rolled back by a new job here.
func (r *Runner) AbortPromotion(ctx context.Context, model, reason string) (*modelgate.Promotion, error) {
	if reason == "" {
		return nil, modelgate.Errorf(modelgate.EINVALID, "an abort needs a reason, for the records")
	}
	// A standby refuses rather than storing the request: a held or crashed
	// promotion's rollback would need a job here.
	if err := r.standby(); err != nil {
		return nil, err
	}
	reserved := r.reserve(model)
	svc := r.service(ctx)
	p, mine, err := svc.Abort(ctx, model, reason)
	switch {
	case !reserved:
		return p, err // this runner's job reads the request
	case err != nil || !mine:
		r.unreserve(model)
		return p, err
	}
	r.launch(svc, p)
	return p, nil
}

func (r *Runner) busy(model string) error {
	if err := r.standby(); err != nil {
		return err
	}
	if ctx := r.jobsCtx(); ctx == nil || ctx.Err() != nil {
		return modelgate.Errorf(modelgate.EUNAVAILABLE, "the promotion runner is not running")
	}
	id := "(being set up)"
	if j := r.running(model); j != nil && j.id != "" {
		id = j.id
	}
	return modelgate.Errorf(modelgate.ECONFLICT, "this server runs promotion %s of %s already", id, model).
		WithHint("follow it, or end it with an abort")
}

// Promotions lists a model's promotions, newest first ("" for all).
func (r *Runner) Promotions(ctx context.Context, model string) ([]*modelgate.Promotion, error) {
	return r.service(ctx).Store.ListPromotions(ctx, model)
}

// Promotion returns one promotion with its step records.
func (r *Runner) Promotion(ctx context.Context, id string) (*modelgate.Promotion, []*modelgate.StepRecord, error) {
	store := r.service(ctx).Store
	p, err := store.GetPromotion(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	steps, err := store.Steps(ctx, id)
	return p, steps, err
}

// Approve records the actor's approval: the context's actor approves in
// their own name only.
func (r *Runner) Approve(ctx context.Context, a *modelgate.Approval) error {
	if actor, ok := modelgate.ActorFromContext(ctx); ok {
		if a.By != "" && a.By != actor.Name {
			return modelgate.Errorf(modelgate.EUNAUTHORIZED, "%s may not approve in the name of %s", actor.Name, a.By)
		}
		a.By = actor.Name
	}
	if a.Model == "" || a.Version == "" || a.Role == "" || a.By == "" {
		return modelgate.Errorf(modelgate.EINVALID, "an approval names the model, the version, the role and who approves")
	}
	if a.At.IsZero() {
		a.At = time.Now().UTC()
	}
	return r.service(ctx).RecordApproval(ctx, a)
}

// ModelStatus says what the registry and production say of model.
func (r *Runner) ModelStatus(ctx context.Context, model string) (*modelgate.ModelStatus, error) {
	return r.service(ctx).ModelStatus(ctx, model)
}

// FollowPromotion passes the promotion's progress events to fn until it
// ends: live from this runner's job, and from the store every Poll (a
// promotion another process runs shows only its end).
func (r *Runner) FollowPromotion(ctx context.Context, id string, after int64, fn func(modelgate.Event)) (*modelgate.Promotion, error) {
	store := r.service(ctx).Store
	past, ch, stop := r.hub.subscribe(id, after)
	defer stop()
	for _, e := range past {
		fn(e)
	}
	t := time.NewTicker(r.poll())
	defer t.Stop()
	for {
		p, err := store.GetPromotion(ctx, id)
		if err != nil || p.Outcome != modelgate.OutcomeNone && !r.runs(p) {
			drain(ch, fn)
			return p, err
		}
		select {
		case e, ok := <-ch:
			if !ok {
				ch = nil // the job here stopped; the store tells the rest
				continue
			}
			fn(e)
		case <-t.C:
		case <-ctx.Done():
			return p, ctx.Err()
		}
	}
}

// runs reports whether a job here runs p (a held one being accepted or
// aborted has not ended).
func (r *Runner) runs(p *modelgate.Promotion) bool {
	j := r.running(p.Model)
	return j != nil && j.id == p.ID
}

// drain passes on the events already waiting.
func drain(ch <-chan modelgate.Event, fn func(modelgate.Event)) {
	for {
		select {
		case e, ok := <-ch:
			if !ok {
				return
			}
			fn(e)
		default:
			return
		}
	}
}

func (r *Runner) poll() time.Duration {
	if r.Poll > 0 {
		return r.Poll
	}
	return time.Second
}
