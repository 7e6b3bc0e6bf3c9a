package promotion

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/modelgate/modelgate"
)

var _ modelgate.PromotionService = (*Runner)(nil)

// Runner runs promotions as jobs of this process, what a modelgate server
// does: a promotion started, accepted, resumed or aborted through it runs
// on in the background with the same engine and store as the CLI, so its
// state survives the process, and Open resumes every unfinished promotion
// that no live process runs (a held one stays held: a person decides). One
// job per model; a person's abort reaches a job through the store, as it
// reaches another process.
type Runner struct {
	// NewService returns the engine acting for actor, sending its progress
	// to progress. Required.
	NewService func(actor modelgate.Actor, progress func(modelgate.Event)) *Service
	// Actor acts when the context names nobody: the process itself, e.g.
	// resuming a promotion no process runs. Required.
	Actor modelgate.Actor
	// Observer is told what the jobs do, e.g. to export metrics; nil for none.
	Observer Observer
	// Poll is how often a follower reads the store for an end no job here
	// reports; default 1s. Scan is how often Open's background scan looks
	// for unfinished promotions no process runs (a crashed CLI's); default
	// 30s, negative for never.
	Poll, Scan time.Duration
	Logger     *slog.Logger // default slog.Default()
	// Standby, when set, is asked before an act that would start a job
	// (start, resume, accept, abort): an error refuses the act, e.g. on a
	// server replica that is not the leader, whose runner is closed. Nil:
	// always act.
	Standby func() error

	mu   sync.Mutex
	jobs map[string]*job // by model; id "" while the job is being set up
	// stopped holds the promotions whose job here stopped on an error: the
	// background scan leaves them to a person (resume) or a restart, rather
	// than retrying them every Scan.
	stopped map[string]bool
	hub     hub
	ctx     context.Context // the jobs' context, from Open
	stop    context.CancelFunc
	wg      sync.WaitGroup
}

type job struct{ id, version string }

// Observer is told what a Runner's jobs do. Methods must not block.
type Observer interface {
	// Started: a promotion was created through the runner.
	Started(p *modelgate.Promotion)
	// Progress: one numbered progress event.
	Progress(e modelgate.Event)
	// Ended: a job stopped, the promotion as it is then (Outcome none when
	// it stopped on an error) with its step records; since is when the job
	// began in this process.
	Ended(p *modelgate.Promotion, steps []*modelgate.StepRecord, since time.Time)
}

// Open starts the runner: jobs run until ctx ends or Close. It resumes the
// unfinished promotions no live process runs, now and every Scan. A closed
// runner may be opened again (a replica that leads again).
func (r *Runner) Open(ctx context.Context) error {
	ctx, stop := context.WithCancel(ctx)
	r.mu.Lock()
	r.ctx, r.stop = ctx, stop
	r.mu.Unlock()
	if err := r.ResumeUnfinished(ctx); err != nil {
		return err
	}
	if r.Scan >= 0 {
		r.wg.Add(1)
		go r.scan(ctx)
	}
	return nil
}

// Close stops every job where it is (its state is saved and its store lock
// released; the next runner resumes it) and waits for them.
func (r *Runner) Close() error {
	r.mu.Lock()
	stop := r.stop
	r.mu.Unlock()
	if stop != nil {
		stop()
	}
	r.wg.Wait()
	return nil
}

// jobsCtx is the jobs' context of the current Open, nil before any.
func (r *Runner) jobsCtx() context.Context {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.ctx
}

func (r *Runner) standby() error {
	if r.Standby == nil {
		return nil
	}
	return r.Standby()
}

func (r *Runner) scan(ctx context.Context) {
	defer r.wg.Done()
	every := r.Scan
	if every == 0 {
		every = 30 * time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := r.ResumeUnfinished(ctx); err != nil {
				r.logger().Warn("cannot look for unfinished promotions", "err", err)
			}
		}
	}
}

// ResumeUnfinished resumes, as jobs of this runner, the unfinished
// promotions that are not held and that no live process runs.
func (r *Runner) ResumeUnfinished(ctx context.Context) error {
	svc := r.service(ctx)
	all, err := svc.Store.ListPromotions(ctx, "")
	if err != nil {
		return err
	}
	for _, p := range all {
		if p.Outcome != modelgate.OutcomeNone || r.stoppedHere(p.ID) || !r.reserve(p.Model) {
			continue
		}
		if !r.orphaned(ctx, svc, p.Model) {
			r.unreserve(p.Model)
			continue
		}
		q, err := svc.Resume(ctx, p.Model)
		if err != nil {
			r.unreserve(p.Model)
			r.logger().Warn("cannot resume an unfinished promotion", "promotion", p.ID, "err", modelgate.ErrorMessage(err))
			continue
		}
		r.logger().Info("resuming an unfinished promotion no process runs", "promotion", q.ID, "model", q.Model, "step", q.Step)
		r.launch(svc, q)
	}
	return nil
}

// orphaned reports whether no live process holds model's lock.
func (r *Runner) orphaned(ctx context.Context, svc *Service, model string) bool {
	holder, _, err := svc.Store.LockHolder(ctx, model)
	if err != nil {
		return false
	}
	return holder == "" || holder == svc.Owner || svc.HolderGone != nil && svc.HolderGone(holder)
}

// service builds the engine for the context's actor, or the runner's own.
func (r *Runner) service(ctx context.Context) *Service {
	a, ok := modelgate.ActorFromContext(ctx)
	if !ok {
		a = r.Actor
	}
	return r.NewService(a, r.progress)
}

func (r *Runner) progress(e modelgate.Event) {
	e = r.hub.publish(e)
	if r.Observer != nil {
		r.Observer.Progress(e)
	}
}

// reserve claims model for a job being set up; false when a job has it or
// the runner is closed.
func (r *Runner) reserve(model string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.jobs == nil {
		r.jobs = map[string]*job{}
	}
	if r.jobs[model] != nil || r.ctx == nil || r.ctx.Err() != nil {
		return false
	}
	r.jobs[model] = &job{}
	return true
}

func (r *Runner) unreserve(model string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.jobs, model)
}

// running returns the job that has model, nil when none does.
func (r *Runner) running(model string) *job {
	r.mu.Lock()
	defer r.mu.Unlock()
	if j := r.jobs[model]; j != nil {
		c := *j
		return &c
	}
	return nil
}

// Running reports whether a job of this runner has model.
func (r *Runner) Running(model string) bool { return r.running(model) != nil }

// launch runs p in the background until it ends, is held, or stops.
func (r *Runner) launch(svc *Service, p *modelgate.Promotion) {
	r.mu.Lock()
	r.jobs[p.Model] = &job{id: p.ID, version: p.Version}
	ctx := r.ctx
	r.mu.Unlock()
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		since := svc.now()
		q, err := svc.Run(ctx, p)
		if err != nil {
			r.logger().Warn("promotion stopped", "promotion", p.ID, "step", q.Step, "err", modelgate.ErrorMessage(err))
		}
		r.setStopped(q.ID, err != nil && ctx.Err() == nil)
		r.ended(ctx, svc, q, since)
	}()
}

func (r *Runner) ended(ctx context.Context, svc *Service, p *modelgate.Promotion, since time.Time) {
	if r.Observer != nil {
		steps, _ := svc.Store.Steps(context.WithoutCancel(ctx), p.ID)
		r.Observer.Ended(p, steps, since)
	}
	r.unreserve(p.Model)
	r.hub.finish(p.ID)
}

func (r *Runner) setStopped(id string, stopped bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopped == nil {
		r.stopped = map[string]bool{}
	}
	if stopped {
		r.stopped[id] = true
	} else {
		delete(r.stopped, id)
	}
}

func (r *Runner) stoppedHere(id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stopped[id]
}

func (r *Runner) logger() *slog.Logger {
	if r.Logger != nil {
		return r.Logger
	}
	return slog.Default()
}
