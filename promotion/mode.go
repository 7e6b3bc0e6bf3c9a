package promotion

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/modelgate/modelgate"
)

// Mode is how the registry marks the candidate and production, and so how a
// promotion reads and changes it: MLflow's legacy stages or its aliases.
type Mode interface {
	// Name is "stage" or "alias", for messages and records.
	Name() string
	// CheckCandidate returns what keeps mv from being a candidate, or "".
	CheckCandidate(mv *modelgate.ModelVersion) string
	// Current returns the production version of model, or a problem saying
	// why there is none to roll back to.
	Current(ctx context.Context, r modelgate.Registry, model, candidate string) (version, problem string, err error)
	// Promote marks version as production and previous as replaced.
	Promote(ctx context.Context, s *Service, p *modelgate.Promotion) error
	// Rollback marks previous as production again and version as failed.
	Rollback(ctx context.Context, s *Service, p *modelgate.Promotion) error
}

// StageMode uses MLflow's stages: the candidate is in Staging; promotion moves
// it to Production and archives the previous version in the same change;
// rollback keeps (or puts back) the previous version in Production as the
// only one there and archives the candidate.
type StageMode struct{}

func (StageMode) Name() string { return "stage" }

func (StageMode) CheckCandidate(mv *modelgate.ModelVersion) string {
	if mv.Stage != modelgate.StageStaging {
		return fmt.Sprintf("version %s is in stage %s, not Staging (move it with `modelgate registry transition %s %s Staging`)", mv.Version, mv.Stage, mv.Name, mv.Version)
	}
	return ""
}

func (StageMode) Current(ctx context.Context, r modelgate.Registry, model, candidate string) (string, string, error) {
	versions, err := r.ListVersions(ctx, model)
	if err != nil {
		return "", "", fmt.Errorf("list versions of %s: %w", model, err)
	}
	var prod []string
	for _, v := range versions {
		if v.Stage == modelgate.StageProduction && v.Version != candidate {
			prod = append(prod, v.Version)
		}
	}
	switch len(prod) {
	case 0:
		return "", fmt.Sprintf("no version of %s is in Production, so there is nothing to roll back to (a first deployment cannot be a canary: serve it with `modelgate deploy` and mark it Production)", model), nil
	case 1:
		return prod[0], "", nil
	}
	sort.Slice(prod, func(i, j int) bool { return atoi(prod[i]) < atoi(prod[j]) })
	return "", fmt.Sprintf("versions %s are all in Production; leave exactly one there so the rollback target is clear", strings.Join(prod, ", ")), nil
}

func (StageMode) Promote(ctx context.Context, s *Service, p *modelgate.Promotion) error {
	return s.setStage(ctx, p, "registry_promote", p.Version, modelgate.StageProduction, true)
}

func (StageMode) Rollback(ctx context.Context, s *Service, p *modelgate.Promotion) error {
	if err := s.setStage(ctx, p, "registry_restore", p.Previous, modelgate.StageProduction, true); err != nil {
		return err
	}
	return s.setStage(ctx, p, "registry_archive", p.Version, modelgate.StageArchived, false)
}

// AliasMode uses aliases, as MLflow recommends since 2.9: Candidate marks
// the version under test, Champion production; on promotion the replaced
// champion keeps Previous, so a later rollback knows its target.
type AliasMode struct {
	Candidate string // default "challenger"
	Champion  string // default "champion"
	Previous  string // default "previous"
}

// DefaultAliasMode returns the aliases MLflow's documentation uses.
func DefaultAliasMode() AliasMode {
	return AliasMode{Candidate: "challenger", Champion: "champion", Previous: "previous"}
}

func (m AliasMode) Name() string { return "alias" }

func (m AliasMode) CheckCandidate(mv *modelgate.ModelVersion) string {
	if !slices.Contains(mv.Aliases, m.Candidate) {
		return fmt.Sprintf("version %s does not carry the alias @%s that marks the candidate (set it with your registry's client)", mv.Version, m.Candidate)
	}
	return ""
}

func (m AliasMode) Current(ctx context.Context, r modelgate.Registry, model, candidate string) (string, string, error) {
	mv, err := r.GetVersionByAlias(ctx, model, m.Champion)
	switch {
	case modelgate.ErrorCode(err) == modelgate.ENOTFOUND:
		return "", fmt.Sprintf("no version of %s carries @%s, so there is nothing to roll back to", model, m.Champion), nil
	case err != nil:
		return "", "", fmt.Errorf("read @%s of %s: %w", m.Champion, model, err)
	case mv.Version == candidate:
		return "", fmt.Sprintf("version %s is already @%s", candidate, m.Champion), nil
	}
	return mv.Version, "", nil
}

func (m AliasMode) Promote(ctx context.Context, s *Service, p *modelgate.Promotion) error {
	if err := s.setAlias(ctx, p, "registry_previous_alias", m.Previous, p.Previous); err != nil {
		return err
	}
	if err := s.setAlias(ctx, p, "registry_champion", m.Champion, p.Version); err != nil {
		return err
	}
	return s.clearAlias(ctx, p, "registry_candidate_alias", m.Candidate, p.Version)
}

func (m AliasMode) Rollback(ctx context.Context, s *Service, p *modelgate.Promotion) error {
	if err := s.setAlias(ctx, p, "registry_champion_restore", m.Champion, p.Previous); err != nil {
		return err
	}
	return s.clearAlias(ctx, p, "registry_candidate_alias", m.Candidate, p.Version)
}

func (s *Service) setAlias(ctx context.Context, p *modelgate.Promotion, action, alias, version string) error {
	done := func(ctx context.Context) (bool, error) {
		mv, err := s.Registry.GetVersionByAlias(ctx, p.Model, alias)
		if modelgate.ErrorCode(err) == modelgate.ENOTFOUND {
			return false, nil
		}
		return err == nil && mv.Version == version, err
	}
	return s.act(ctx, p, action, done, func(ctx context.Context) error {
		return s.Registry.SetAlias(ctx, p.Model, alias, version)
	})
}

// clearAlias removes alias if it still points at version.
func (s *Service) clearAlias(ctx context.Context, p *modelgate.Promotion, action, alias, version string) error {
	done := func(ctx context.Context) (bool, error) {
		mv, err := s.Registry.GetVersionByAlias(ctx, p.Model, alias)
		if modelgate.ErrorCode(err) == modelgate.ENOTFOUND {
			return true, nil
		}
		return err == nil && mv.Version != version, err
	}
	return s.act(ctx, p, action, done, func(ctx context.Context) error {
		return s.Registry.DeleteAlias(ctx, p.Model, alias)
	})
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}
