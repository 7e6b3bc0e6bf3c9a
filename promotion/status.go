package promotion

import (
	"context"
	"fmt"

	"github.com/modelgate/modelgate"
)

// ModelStatus says what the registry and production say of model, its
// unfinished promotion with its last look at the canary and the process
// running it, and what needs a person. An unreachable platform is reported
// in the status, not as an error.
func (s *Service) ModelStatus(ctx context.Context, model string) (*modelgate.ModelStatus, error) {
	vs, err := s.Registry.ListVersions(ctx, model)
	if err != nil {
		return nil, err
	}
	ms := &modelgate.ModelStatus{Model: model, Production: modelgate.StageVersions(vs, modelgate.StageProduction),
		Staging: modelgate.StageVersions(vs, modelgate.StageStaging), Platform: "reachable"}
	if split, err := s.Deployer.Traffic(ctx, model); err == nil {
		ms.Traffic = &split
	} else {
		ms.Platform = modelgate.ErrorMessage(err)
	}
	if p, err := s.Store.ActivePromotion(ctx, model); err == nil {
		s.activeStatus(ctx, ms, p)
	}
	ms.Warnings = statusWarnings(ms)
	return ms, nil
}

// activeStatus fills in the unfinished promotion, its last look and who
// runs it ("" when its holder is gone).
func (s *Service) activeStatus(ctx context.Context, ms *modelgate.ModelStatus, p *modelgate.Promotion) {
	ms.Active = p
	ms.Steps, _ = s.Store.Steps(ctx, p.ID)
	if w, ok := modelgate.FindEvidence[modelgate.WindowEvidence](ms.Steps); ok && w.Judgement != nil {
		ms.Window = &w
	}
	if b, ok := modelgate.FindEvidence[modelgate.BakeEvidence](ms.Steps); ok && p.Step == modelgate.StepBake {
		ms.Bake = &b
	}
	ms.Links = modelgate.LinksOf(ms.Steps).List()
	if pre, ok := modelgate.FindEvidence[modelgate.PreconditionsEvidence](ms.Steps); ok {
		ms.Monitoring = pre.Monitoring
	}
	ms.Runner, _, _ = s.Store.LockHolder(ctx, p.Model)
	if ms.Runner != "" && s.HolderGone != nil && s.HolderGone(ms.Runner) {
		ms.Runner = ""
	}
}

// statusWarnings flags a registry and a platform that disagree, and an
// unfinished promotion no process runs.
func statusWarnings(ms *modelgate.ModelStatus) []string {
	var w []string
	if t := ms.Traffic; t != nil && ms.Active == nil && t.Stable != ms.Production && ms.Production != "-" {
		w = append(w, fmt.Sprintf("the registry's Production version is %s but production serves version %q: make them agree (`modelgate deploy` or `modelgate registry transition`)", ms.Production, t.Stable))
	}
	if t := ms.Traffic; t != nil && ms.Active == nil && t.Canary != "" {
		w = append(w, fmt.Sprintf("production runs a canary of version %s with no promotion watching it", t.Canary))
	}
	if p := ms.Active; p != nil && ms.Runner == "" && p.Step == modelgate.StepBake {
		w = append(w, fmt.Sprintf("version %s is baking and nobody watches it: run `modelgate bake %s --watch` or `modelgate server`; `modelgate bake %s --end --reason TEXT` ends the bake", p.Version, p.Model, p.Model))
	} else if p != nil && ms.Runner == "" {
		state := "no process is running it: it crashed or was killed"
		if p.Outcome == modelgate.OutcomeHeld {
			state = "it is held for a person"
		}
		w = append(w, fmt.Sprintf("promotion %s is unfinished and %s; continue with `modelgate promote %s --resume` (or --resume --accept --reason TEXT if held), or end it with `modelgate abort %s --reason TEXT`", p.ID, state, p.Model, p.Model))
	}
	return w
}
