package gateway

import (
	"fmt"
	"maps"
	"time"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/sketch"
)

// defaultSnapshotInterval is how often the figures are saved while
// requests keep coming.
const defaultSnapshotInterval = 5 * time.Second

// figures are one split's measurements as saved in the state file: what a
// restarted gateway restores so a canary window survives the restart.
type figures struct {
	SavedAt       time.Time                `json:"saved_at"`
	Stable        modelgate.RevisionStats  `json:"stable"`
	Canary        *modelgate.RevisionStats `json:"canary,omitempty"`
	MirrorDropped int64                    `json:"mirror_dropped,omitempty"`
	MirrorFailed  int64                    `json:"mirror_failed,omitempty"`
}

// figures returns p's measurements now; nil without production.
func (p *production) figures(now time.Time) *figures {
	if p == nil {
		return nil
	}
	f := &figures{SavedAt: now, Stable: p.stableStats.snapshot()}
	if p.canaryStats != nil {
		c := p.canaryStats.snapshot()
		f.Canary = &c
		p.canaryStats.mu.Lock()
		f.MirrorDropped, f.MirrorFailed = p.canaryStats.mirror.dropped, p.canaryStats.mirror.failed
		p.canaryStats.mu.Unlock()
	}
	return f
}

// saveState writes the state file: every model's split, with name serving
// next when next is not nil, and every split's figures as they are now,
// which it returns by model. It runs under stateMu. Saving the figures a
// reader is about to see before it sees them is what makes a restart never
// report fewer observations than were already reported.
func (s *Server) saveState(name string, next *modelState) (map[string]*figures, error) {
	s.mu.RLock()
	models := maps.Clone(s.models)
	s.mu.RUnlock()
	if next != nil {
		models[name] = *next
	}
	now := s.opts.Now()
	st := stateFile{Models: make(map[string]modelRecord, len(models))}
	figs := make(map[string]*figures, len(models))
	for n, m := range models {
		rec := m.record()
		rec.Figures = m.prod.figures(now)
		st.Models[n], figs[n] = rec, rec.Figures
	}
	if s.opts.StatePath == "" {
		return figs, nil
	}
	return figs, writeState(s.opts.StatePath, st)
}

// restoreFigures puts saved figures back into a restored split when they
// belong to its revisions, and notes the restart for Status.
func (p *production) restoreFigures(f *figures, now time.Time) error {
	if f == nil || f.Stable.Version != p.stable.dep.Version || (f.Canary == nil) != (p.canary == nil) ||
		(f.Canary != nil && f.Canary.Version != p.canary.dep.Version) {
		return nil // figures of another split: start afresh
	}
	if err := p.stableStats.restore(f.Stable); err != nil {
		return fmt.Errorf("restore figures of version %s: %w", f.Stable.Version, err)
	}
	if f.Canary != nil {
		if err := p.canaryStats.restore(*f.Canary); err != nil {
			return fmt.Errorf("restore figures of version %s: %w", f.Canary.Version, err)
		}
		p.canaryStats.mirror.dropped, p.canaryStats.mirror.failed = f.MirrorDropped, f.MirrorFailed
	}
	p.restored = &Restored{At: now, SavedAt: f.SavedAt}
	return nil
}

// restore replaces s's figures with saved ones. It runs before s is shared.
func (s *revisionStats) restore(rs modelgate.RevisionStats) error {
	var err error
	s.requests, s.errors = rs.Requests, rs.Errors
	if s.latency, err = sketch.Restore(rs.LatencyMS); err != nil {
		return err
	}
	if s.predictions, err = sketch.Restore(rs.Predictions); err != nil {
		return err
	}
	s.features = nil
	for j := 0; ; j++ {
		d, ok := rs.Features[featureName(s.names, j)]
		if !ok {
			break
		}
		f, err := sketch.Restore(d)
		if err != nil {
			return err
		}
		s.features = append(s.features, f)
	}
	if s.paired != nil && rs.Paired != nil {
		*s.paired = *rs.Paired
	}
	return nil
}

// activity is a number that grows with every measured request and mirror,
// so the snapshot loop saves only when something was measured.
func (p *production) activity() int64 {
	var n int64
	for _, s := range []*revisionStats{p.stableStats, p.canaryStats} {
		if s == nil {
			continue
		}
		s.mu.Lock()
		n += s.requests + s.mirror.dropped + s.mirror.failed
		if s.paired != nil {
			n += s.paired.Count
		}
		s.mu.Unlock()
	}
	return n
}

// snapshotLoop saves the figures every SnapshotInterval while requests are
// measured, until Close.
func (s *Server) snapshotLoop() {
	t := time.NewTicker(s.opts.SnapshotInterval)
	defer t.Stop()
	var last int64 = -1
	for {
		select {
		case <-s.background.Done():
			return
		case <-t.C:
		}
		if n := s.activity(); n != last {
			if err := s.snapshot(); err != nil {
				s.opts.Logger.Error("gateway could not save its measurements", "path", s.opts.StatePath, "error", err)
				continue
			}
			last = n
		}
	}
}

// activity sums every production's activity.
func (s *Server) activity() int64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var n int64
	for _, m := range s.models {
		if m.prod != nil {
			n += m.prod.activity()
		}
	}
	return n
}

// snapshot saves the state file with the figures as they are now. It does
// not wait for an admin change loading a model, only for its swap.
func (s *Server) snapshot() error {
	s.stateMu.Lock()
	defer s.stateMu.Unlock()
	_, err := s.saveState("", nil)
	return err
}
