package promotion

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/modelgate/modelgate"
)

// Policy holds the tunables of a promotion. DefaultPolicy has the playbook's numbers.
type Policy struct {
	CanaryPercent     int           // share of production traffic sent to the canary; default 10
	Window            time.Duration // how long the canary is watched; default 30m
	Interval          time.Duration // time between looks at the window; default 30s
	Extension         time.Duration // added once when the window ends without enough data, and again on each resume of a hold; default 15m
	StagingTimeout    time.Duration // how long staging may take to become ready; default 5m
	RequiredTags      []string      // version tags that must be set; default git_sha, dataset_version, approver
	RequiredApprovals []string      // roles that must approve the version; default data_science_lead, compliance_officer
	AuthorTag         string        // version tag naming the version's author; default "author"
	AuthorMayApprove  bool          // the author may approve their own version; default false (four eyes)
	ApprovalMaxAge    time.Duration // an older approval no longer counts; default 7 days; 0: approvals never expire
	// Links are URL templates of the promotion's links by name (see
	// modelgate.LinkNames and CheckLinkTemplate); a version's link.<name>
	// tag wins. RegistryURI fills {registry_uri}.
	Links       map[string]string
	RegistryURI string
	// Monitoring is what the precondition "monitoring dashboards and
	// alerts configured for the new model" does with a missing check:
	// "error" refuses the promotion, "warn" (the default) records it and
	// goes on, "off" checks nothing.
	Monitoring         string
	AllowMissingDigest bool          // accept a version without a model_sha256 tag (never a mismatch)
	LockTTL            time.Duration // how long a promotion lock lives without renewal (a live holder renews it every third of that); default 15s
	MaxMetricFailures  int           // consecutive failed looks before rolling back; default 3
	AbortPoll          time.Duration // how often a waiting promotion checks for a person's abort; default 1s
	Bake               BakePolicy    // the watch after the rollout; default 24h
	PostMortemDue      time.Duration // from a rollback to its post-mortem; default 24h
	SummaryDays        int           // daily summaries after a rollout, for this many days; default 7, 0 for none

	// FourEyes: one person approves a version for one role only, and who
	// approved a version may not start its promotion (nor approve a version
	// whose promotion they started).
	FourEyes bool
}

// DefaultPolicy returns the playbook's numbers.
func DefaultPolicy() Policy {
	return Policy{
		CanaryPercent:     10,
		Window:            30 * time.Minute,
		Interval:          30 * time.Second,
		Extension:         15 * time.Minute,
		StagingTimeout:    5 * time.Minute,
		RequiredTags:      append([]string(nil), modelgate.RequiredTags...),
		RequiredApprovals: []string{"data_science_lead", "compliance_officer"},
		AuthorTag:         "author",
		Monitoring:        "warn",
		ApprovalMaxAge:    7 * 24 * time.Hour,
		LockTTL:           15 * time.Second,
		MaxMetricFailures: 3,
		AbortPoll:         time.Second,
		Bake:              BakePolicy{Duration: 24 * time.Hour, FirstHour: time.Hour, Later: 5 * time.Minute, OnNewPromotion: "end"},
		PostMortemDue:     24 * time.Hour,
		SummaryDays:       7,
	}
}

// Service runs promotions. Set every field without a default before use.
type Service struct {
	Registry modelgate.Registry
	Deployer modelgate.Deployer
	Metrics  modelgate.MetricsSource
	Store    modelgate.PromotionStore
	Audit    modelgate.AuditLog
	Judge    modelgate.Judge
	// AlertRules judge the bake after the rollout; nil skips the bake.
	AlertRules modelgate.AlertRules
	// Ticketer opens the incident ticket of a rollback; nil opens none
	// (the post-mortem bundle is still written).
	Ticketer modelgate.Ticketer
	Gates    []modelgate.Gate // staging checks (smoke tests, evaluation), run in order
	Records  Records          // changelog and reports; nil writes none
	// PostMortems writes the post-mortem bundle of a rollback; nil writes
	// none. EffectiveConfig is the configuration it records.
	PostMortems     modelgate.PostMortems
	EffectiveConfig []byte
	Policy          Policy
	Mode            Mode               // how the registry marks candidate and production; default StageMode
	Notifier        modelgate.Notifier // announcements (e-mail, webhooks), best-effort; nil for none
	// MonitoringChecks are the platform's checks of a model's monitoring
	// for the preconditions (on KServe: the PrometheusRule exists,
	// Prometheus loaded it); nil checks none of the platform's.
	MonitoringChecks func(ctx context.Context, model string) []modelgate.MonitoringCheck
	// ReportPath is the directory of the reports, named in announcements.
	ReportPath string

	CacheDir string // verified artifacts, one directory per digest
	Owner    string // lock owner, unique per process
	Actor    string // who is promoting, for the records
	// ActorSource says where Actor came from (e.g. "env:USER"), for the
	// records.
	ActorSource string
	// HolderGone reports whether a lock holder is known to have stopped (a
	// process on this host that no longer runs), so its lock is taken over
	// at once. Nil: only the lease's expiry frees a lock.
	HolderGone func(owner string) bool
	// ConfigHash identifies the effective configuration; it is recorded
	// with every step, so a resume under other settings shows.
	ConfigHash string

	Now      func() time.Time                                 // default time.Now
	Sleep    func(ctx context.Context, d time.Duration) error // default a timer honouring ctx
	Progress func(Event)                                      // optional live progress
	// DetachBake makes Run return after the bake's first look instead of
	// watching it to its end: `modelgate promote` leaves the watch to
	// `modelgate bake --watch` or the server.
	DetachBake bool
	Logger     *slog.Logger  // default slog.Default()
	NewID      func() string // default random
}

// Event is live progress (modelgate.Event), for the CLI's progress output
// and a server's event streams.
type Event = modelgate.Event

func (s *Service) mode() Mode {
	if s.Mode != nil {
		return s.Mode
	}
	return StageMode{}
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Service) sleep(ctx context.Context, d time.Duration) error {
	if s.Sleep != nil {
		return s.Sleep(ctx, d)
	}
	return modelgate.Sleep(ctx, d)
}

func (s *Service) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}

func (s *Service) newID() string {
	if s.NewID != nil {
		return s.NewID()
	}
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return s.now().UTC().Format("20060102-150405") + "-" + hex.EncodeToString(b)
}

func (s *Service) emit(p *modelgate.Promotion, msg string, mod func(*Event)) {
	if s.Progress == nil {
		return
	}
	e := Event{PromotionID: p.ID, Model: p.Model, Version: p.Version, Step: p.Step, Message: msg}
	if mod != nil {
		mod(&e)
	}
	s.Progress(e)
}

// Start checks the preconditions and creates a promotion of model/version.
// When the model already has an unfinished promotion of the same version, it
// is returned to be resumed; one of another version is ECONFLICT. A failed
// precondition changes nothing but the audit trail.
func (s *Service) Start(ctx context.Context, model, version string) (*modelgate.Promotion, error) {
	if err := s.settleBake(ctx, model, version); err != nil {
		return nil, fmt.Errorf("end the bake before promoting %s version %s: %w", model, version, err)
	}
	if err := s.lock(ctx, model); err != nil {
		return nil, err
	}
	p, err := s.start(ctx, model, version)
	if err != nil {
		_ = s.Store.ReleaseLock(context.WithoutCancel(ctx), model, s.Owner)
	}
	return p, err
}

func (s *Service) start(ctx context.Context, model, version string) (*modelgate.Promotion, error) {
	active, err := s.Store.ActivePromotion(ctx, model)
	switch {
	case err == nil && active.Version == version:
		s.emit(active, "resuming the unfinished promotion "+active.ID, nil)
		s.reopen(active)
		return active, s.recordResume(ctx, active)
	case err == nil:
		return nil, modelgate.Errorf(modelgate.ECONFLICT, "model %s has an unfinished promotion %s of version %s", model, active.ID, active.Version).
			WithHint("finish it with `modelgate promote %s --resume` or end it with `modelgate rollback %s`", model, model)
	case modelgate.ErrorCode(err) != modelgate.ENOTFOUND:
		return nil, fmt.Errorf("look for an active promotion: %w", err)
	}
	now := s.now()
	p := &modelgate.Promotion{ID: s.newID(), Model: model, Version: version, Step: modelgate.StepPreconditions, Actor: s.Actor, StartedAt: now, UpdatedAt: now,
		ConfigHash: s.ConfigHash}
	ev, err := s.preconditions(ctx, p)
	if err == nil {
		err = s.checkStarter(ev.Approvals)
	}
	if err != nil {
		s.auditRejected(ctx, p, err)
		return nil, err
	}
	p.Step = modelgate.StepVerify
	if err := s.Store.CreatePromotion(ctx, p); err != nil {
		return nil, fmt.Errorf("create promotion: %w", err)
	}
	rec := &modelgate.StepRecord{PromotionID: p.ID, Step: modelgate.StepPreconditions, StartedAt: now}
	if err := s.finishStep(ctx, p, rec, modelgate.ResultOK, *ev); err != nil {
		return nil, err
	}
	s.notify(ctx, p, modelgate.NotifyStarted, fmt.Sprintf("promotion of %s version %s started, replacing version %s", p.Model, p.Version, p.Previous))
	return p, nil
}

// Resume returns the model's unfinished promotion, locked for this process.
func (s *Service) Resume(ctx context.Context, model string) (*modelgate.Promotion, error) {
	if err := s.lock(ctx, model); err != nil {
		return nil, err
	}
	p, err := s.Store.ActivePromotion(ctx, model)
	if err != nil {
		_ = s.Store.ReleaseLock(context.WithoutCancel(ctx), model, s.Owner)
		if modelgate.ErrorCode(err) == modelgate.ENOTFOUND {
			return nil, modelgate.Errorf(modelgate.ENOTFOUND, "model %s has no unfinished promotion to resume", model)
		}
		return nil, err
	}
	s.reopen(p)
	if err := s.recordResume(ctx, p); err != nil {
		_ = s.Store.ReleaseLock(context.WithoutCancel(ctx), model, s.Owner)
		return nil, err
	}
	return p, nil
}

// reopen lets a person's resume of a held promotion watch the canary again:
// the window is moved so that one more extension remains from now, and the
// figures keep accumulating (the canary start only measures the window).
func (s *Service) reopen(p *modelgate.Promotion) {
	if p.Outcome != modelgate.OutcomeHeld {
		return
	}
	p.Outcome = modelgate.OutcomeNone
	more := s.Policy.Extension
	if more <= 0 {
		more = s.Policy.Window
	}
	p.Extended = true
	p.CanaryStart = s.now().Add(more - s.Policy.Window - s.Policy.Extension)
}

// Run calls Step until the promotion ends (or is held for a person), then
// releases the lock. An error leaves the promotion where it stopped, ready
// to resume.
func (s *Service) Run(ctx context.Context, p *modelgate.Promotion) (*modelgate.Promotion, error) {
	defer s.Store.ReleaseLock(context.WithoutCancel(ctx), p.Model, s.Owner)
	ctx, stop := s.keepLock(ctx, p.Model)
	defer stop()
	for p.Outcome == modelgate.OutcomeNone {
		if err := s.lock(ctx, p.Model); err != nil {
			return p, err
		}
		if err := s.honourAbort(ctx, p); err != nil {
			return p, fmt.Errorf("abort promotion %s: %w", p.ID, err)
		}
		if p.Outcome != modelgate.OutcomeNone {
			break
		}
		before := p.Step
		if err := s.Step(ctx, p); err != nil {
			return p, err
		}
		if s.DetachBake && before == modelgate.StepBake && p.Step == modelgate.StepBake {
			break // the bake began and had its first look; a watcher takes it on
		}
	}
	return p, nil
}

// keepLock renews the lock every third of its lifetime while the promotion
// runs (a step may wait longer than the lifetime, e.g. for a platform). If
// renewal fails, the returned context is cancelled, so a process that lost
// its lock stops acting instead of racing the one that took it over.
func (s *Service) keepLock(ctx context.Context, model string) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(ctx)
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(s.lockTTL() / 3)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				if err := s.Store.AcquireLock(ctx, model, s.Owner, s.lockTTL()); err != nil {
					cancel(fmt.Errorf("lost the promotion lock of %s: %w", model, err))
					return
				}
			}
		}
	}()
	return ctx, func() { close(done); cancel(nil) }
}

// lock takes the model's lock, taking it over from a holder known to be
// gone (a crashed process on this host), with an audit entry saying so.
func (s *Service) lock(ctx context.Context, model string) error {
	err := s.Store.AcquireLock(ctx, model, s.Owner, s.lockTTL())
	if modelgate.ErrorCode(err) != modelgate.ECONFLICT {
		return err
	}
	holder, _, herr := s.Store.LockHolder(ctx, model)
	if herr != nil || holder == "" || s.HolderGone == nil || !s.HolderGone(holder) {
		var e *modelgate.Error
		errors.As(err, &e)
		return e.WithHint("another modelgate is working on %s; `modelgate abort %s --reason TEXT` asks it to stop and roll back", model, model)
	}
	if err := s.Store.BreakLock(ctx, model, holder); err != nil {
		return err
	}
	entry := modelgate.AuditEntry{Time: s.now(), Actor: s.Actor, ActorSource: s.ActorSource, Action: "lock.taken_over", Model: model, Outcome: "taken_over",
		Detail: "the holder " + holder + " no longer runs"}
	if _, err := s.Audit.Append(ctx, entry); err != nil {
		return fmt.Errorf("write audit trail: %w", err)
	}
	s.logger().Info("took over the lock of a process that no longer runs", "model", model, "holder", holder)
	return s.Store.AcquireLock(ctx, model, s.Owner, s.lockTTL())
}

func (s *Service) lockTTL() time.Duration {
	if s.Policy.LockTTL > 0 {
		return s.Policy.LockTTL
	}
	return 15 * time.Second
}
