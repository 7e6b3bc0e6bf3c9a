package gateway

import (
	"context"
	"time"
)

// Mirroring defaults.
const (
	defaultMaxMirrors    = 4
	defaultMirrorTimeout = 10 * time.Second
)

// setMirrorDefaults fills in the mirroring and recent-request options.
func (o *Options) setMirrorDefaults() {
	if o.MaxMirrors <= 0 {
		o.MaxMirrors = defaultMaxMirrors
	}
	if o.MirrorTimeout <= 0 {
		o.MirrorTimeout = defaultMirrorTimeout
	}
	if o.RecentRequests == 0 {
		o.RecentRequests = defaultRecentRequests
	}
	if o.RecentBytes <= 0 {
		o.RecentBytes = defaultRecentBytes
	}
}

// mirrorJob is one stable answer to repeat on the canary: the request's
// instances and the stable revision's predictions for them.
type mirrorJob struct {
	model     string
	canary    *revision
	stats     *revisionStats // the canary's figures of the split that chose the mirror
	instances []any
	stable    []float64
}

// startMirror runs j in the background, never delaying the stable answer:
// when Options.MaxMirrors mirrors are in flight it drops j and counts the
// drop. Only the pairs are recorded: a mirrored call is not one of the
// canary's requests, errors, latencies or predictions.
func (s *Server) startMirror(j mirrorJob) {
	select {
	case s.mirrorSlots <- struct{}{}:
	default:
		j.stats.mirrorDropped()
		return
	}
	j.stats.mirrorStarted()
	s.mirrors.Add(1)
	go func() {
		defer s.mirrors.Done()
		defer func() { <-s.mirrorSlots }()
		s.runMirror(j)
	}()
}

// runMirror predicts j's instances with the canary and records the pairs.
func (s *Server) runMirror(j mirrorJob) {
	ctx, cancel := context.WithTimeout(s.background, s.opts.MirrorTimeout)
	defer cancel()
	err := j.canary.inputs.check(j.instances)
	var preds []float64
	if err == nil {
		_, preds, err = infer(ctx, j.canary.model, j.instances)
	}
	if err != nil {
		j.stats.mirrorEnded(nil, nil)
		s.opts.Logger.Debug("mirrored request failed", "model", j.model, "version", j.canary.dep.Version, "error", err)
		return
	}
	j.stats.mirrorEnded(preds, j.stable)
}

// mirrorDropped counts a mirror not run because too many were in flight.
func (s *revisionStats) mirrorDropped() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mirror.dropped++
}

func (s *revisionStats) mirrorStarted() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mirror.inFlight++
}

// mirrorEnded records a finished mirror: one pair per row, or a failure
// when canary is nil.
func (s *revisionStats) mirrorEnded(canary, stable []float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mirror.inFlight--
	if canary == nil {
		s.mirror.failed++
		return
	}
	for i, c := range canary {
		s.paired.Add(c, stable[i])
	}
}

// mirrorStatus reports mirroring of p's split; nil when it mirrors nothing.
func (p *production) mirrorStatus() *MirrorStatus {
	if p == nil || p.mirror == 0 || p.canaryStats == nil {
		return nil
	}
	s := p.canaryStats
	s.mu.Lock()
	defer s.mu.Unlock()
	return &MirrorStatus{Percent: p.mirror, Pairs: s.paired.Count,
		InFlight: s.mirror.inFlight, Dropped: s.mirror.dropped, Failed: s.mirror.failed}
}
