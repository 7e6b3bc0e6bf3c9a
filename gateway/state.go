package gateway

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/modelgate/modelgate"
)

// production is one model's production environment: a stable revision and
// an optional canary taking percent of the requests, with the measurements
// of the window that started when this split was set. A production value is
// never modified: every change of the split builds a new one, which is how
// measurements reset.
type production struct {
	stable  *revision
	canary  *revision // nil without a canary
	percent int       // canary's share, 1..99; 0 without a canary
	mirror  int       // share of stable requests mirrored to the canary, 0..100; 0 without a canary
	start   time.Time // when this split was set: the window's start

	stableStats *revisionStats
	canaryStats *revisionStats // nil without a canary

	restored *Restored // set when the figures were restored after a restart
}

func newProduction(stable, canary *revision, percent, mirror int, now time.Time) *production {
	if canary == nil {
		percent, mirror = 0, 0
	}
	return &production{
		stable: stable, canary: canary, percent: percent, mirror: mirror, start: now,
		stableStats: newRevisionStats(stable, false),
		canaryStats: newRevisionStats(canary, mirror > 0),
	}
}

func (p *production) traffic() modelgate.TrafficSplit {
	if p == nil {
		return modelgate.TrafficSplit{}
	}
	t := modelgate.TrafficSplit{Stable: p.stable.dep.Version, CanaryPercent: p.percent}
	if p.canary != nil {
		t.Canary = p.canary.dep.Version
	}
	return t
}

// modelState is everything served for one model name. Values are replaced
// as a whole under Server.mu, never modified in place.
type modelState struct {
	prod    *production // nil until a stable revision is set
	staging *revision   // nil without staging
}

// stateFile is the JSON persisted at Options.StatePath.
type stateFile struct {
	Models map[string]modelRecord `json:"models"`
}

type modelRecord struct {
	Stable        *modelgate.Deployment `json:"stable,omitempty"`
	Canary        *modelgate.Deployment `json:"canary,omitempty"`
	CanaryPercent int                   `json:"canary_percent,omitempty"`
	MirrorPercent int                   `json:"mirror_percent,omitempty"`
	Staging       *modelgate.Deployment `json:"staging,omitempty"`
	// Since is when production's split was set, restored so the window
	// goes on across a restart.
	Since time.Time `json:"since,omitzero"`
	// Figures are the split's measurements when the file was written.
	Figures *figures `json:"figures,omitempty"`
}

func (m modelState) record() modelRecord {
	var rec modelRecord
	if m.prod != nil {
		rec.Stable = &m.prod.stable.dep
		rec.CanaryPercent, rec.MirrorPercent, rec.Since = m.prod.percent, m.prod.mirror, m.prod.start
		if m.prod.canary != nil {
			rec.Canary = &m.prod.canary.dep
		}
	}
	if m.staging != nil {
		rec.Staging = &m.staging.dep
	}
	return rec
}

// readState reads the state file; a missing file is an empty state.
func readState(path string) (stateFile, error) {
	var st stateFile
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return st, nil
	} else if err != nil {
		return st, fmt.Errorf("read gateway state: %w", err)
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, modelgate.Errorf(modelgate.EINVALID, "gateway state %s is not valid JSON: %v", path, err)
	}
	return st, nil
}

// writeState replaces the state file atomically: a temporary file in the
// same directory, synced, then renamed over the old one.
func writeState(path string, st stateFile) error {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return fmt.Errorf("encode gateway state: %w", err)
	}
	f, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("write gateway state: %w", err)
	}
	defer os.Remove(f.Name()) // fails harmlessly after the rename
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return fmt.Errorf("write gateway state: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("sync gateway state: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write gateway state: %w", err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("replace gateway state: %w", err)
	}
	return nil
}
