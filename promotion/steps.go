package promotion

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/modelgate/modelgate"
)

// verify is playbook step 1: re-read the registry entry, download the
// artifact and check its digest; the previous version's artifact is fetched
// and checked too, because a rollback must not depend on the registry later.
func (s *Service) verify(ctx context.Context, p *modelgate.Promotion) error {
	rec, err := s.beginStep(ctx, p, modelgate.StepVerify, nil)
	if err != nil {
		return err
	}
	cand, err := s.deployment(ctx, p.Model, p.Version)
	if err != nil {
		return s.failBeforeProduction(ctx, p, rec, err)
	}
	prev, err := s.deployment(ctx, p.Model, p.Previous)
	if err != nil {
		return s.failBeforeProduction(ctx, p, rec, fmt.Errorf("rollback target: %w", err))
	}
	s.emit(p, fmt.Sprintf("artifact verified: model_sha256 %s", cand.Digest), nil)
	return s.complete(ctx, p, rec, modelgate.ResultOK, modelgate.VerifyEvidence{Candidate: &cand, Previous: &prev})
}

// staging is playbook step 2.
func (s *Service) staging(ctx context.Context, p *modelgate.Promotion) error {
	rec, err := s.beginStep(ctx, p, modelgate.StepStaging, map[string]string{"timeout": s.Policy.StagingTimeout.String()})
	if err != nil {
		return err
	}
	d, err := s.deployment(ctx, p.Model, p.Version)
	if err != nil {
		return err
	}
	s.emit(p, "deploying to staging and waiting until ready (timeout "+s.Policy.StagingTimeout.String()+")", nil)
	// The endpoint is recorded before the action counts as done, so a resumed
	// run finds it without deploying again.
	recorded := func(ctx context.Context) (bool, error) {
		ep, err := s.recordedEndpoint(ctx, p)
		return ep.URL != "", err
	}
	err = s.act(ctx, p, "deploy_staging", recorded, func(ctx context.Context) error {
		ep, err := s.Deployer.DeployStaging(ctx, d, s.Policy.StagingTimeout)
		if err != nil {
			return err
		}
		return s.saveEvidence(ctx, rec, modelgate.ResultRunning, modelgate.StagingEvidence{Endpoint: ep})
	})
	if err != nil {
		if transient(err) {
			return err
		}
		return s.failBeforeProduction(ctx, p, rec, err)
	}
	ep, err := s.stagingEndpoint(ctx, p, d)
	if err != nil {
		return err
	}
	return s.complete(ctx, p, rec, modelgate.ResultOK, modelgate.StagingEvidence{Endpoint: ep})
}

// smoke is playbook step 3: every gate runs against the staging endpoint.
func (s *Service) smoke(ctx context.Context, p *modelgate.Promotion) error {
	rec, err := s.beginStep(ctx, p, modelgate.StepSmoke, nil)
	if err != nil {
		return err
	}
	d, err := s.deployment(ctx, p.Model, p.Version)
	if err != nil {
		return err
	}
	ep, err := s.stagingEndpoint(ctx, p, d)
	if err != nil {
		return err
	}
	cand, err := s.candidate(ctx, p, d)
	if err != nil {
		return err
	}
	var ev modelgate.SmokeEvidence
	for _, g := range s.Gates {
		s.emit(p, "running "+g.Name()+" against staging", nil)
		r, err := g.Check(ctx, ep, cand)
		if err != nil {
			return fmt.Errorf("run %s: %w", g.Name(), err)
		}
		ev.Gates = append(ev.Gates, modelgate.GateRecord{Name: g.Name(), GateResult: r})
		s.emit(p, g.Name()+": "+r.Summary, nil)
	}
	if failures := gateFailures(ev.Gates); len(failures) > 0 {
		p.Reasons = failures
		return s.complete(ctx, p, rec, modelgate.ResultFailed, ev)
	}
	return s.complete(ctx, p, rec, modelgate.ResultOK, ev)
}

// gateFailures lists what the gates found wanting, each under its gate's name.
func gateFailures(gates []modelgate.GateRecord) []string {
	var failures []string
	for _, g := range gates {
		for _, f := range g.Failures {
			failures = append(failures, fmt.Sprintf("Staging's %s check failed: %s", g.Name, f))
		}
		if !g.Passed && len(g.Failures) == 0 {
			failures = append(failures, fmt.Sprintf("Staging's %s check failed: %s", g.Name, g.Summary))
		}
	}
	return failures
}

// stagingEndpoint is the endpoint the staging step recorded. Only if none
// was recorded does it ask the platform, through DeployStaging, which is
// idempotent by contract.
func (s *Service) stagingEndpoint(ctx context.Context, p *modelgate.Promotion, d modelgate.Deployment) (modelgate.Endpoint, error) {
	ep, err := s.recordedEndpoint(ctx, p)
	if err != nil || ep.URL != "" {
		return ep, err
	}
	if ep, err = s.Deployer.DeployStaging(ctx, d, s.Policy.StagingTimeout); err != nil {
		return ep, fmt.Errorf("find the staging endpoint: %w", err)
	}
	return ep, nil
}

func (s *Service) recordedEndpoint(ctx context.Context, p *modelgate.Promotion) (modelgate.Endpoint, error) {
	steps, err := s.Store.Steps(ctx, p.ID)
	if err != nil {
		return modelgate.Endpoint{}, fmt.Errorf("read steps: %w", err)
	}
	ev, _ := modelgate.FindEvidence[modelgate.StagingEvidence](steps)
	return ev.Endpoint, nil
}

func (s *Service) candidate(ctx context.Context, p *modelgate.Promotion, d modelgate.Deployment) (modelgate.Candidate, error) {
	mv, err := s.Registry.GetVersion(ctx, p.Model, p.Version)
	if err != nil {
		return modelgate.Candidate{}, fmt.Errorf("read version: %w", err)
	}
	m, err := s.Registry.VersionMetrics(ctx, p.Model, p.Version)
	if err != nil {
		return modelgate.Candidate{}, fmt.Errorf("read training metrics: %w", err)
	}
	return modelgate.Candidate{Version: mv, Dir: d.ModelDir, Metrics: m}, nil
}

// canary is playbook step 4: the candidate takes N% of production and the
// split is verified as the platform reports it.
func (s *Service) canary(ctx context.Context, p *modelgate.Promotion) error {
	pct := s.Policy.CanaryPercent
	rec, err := s.beginStep(ctx, p, modelgate.StepCanary, map[string]string{"percent": strconv.Itoa(pct)})
	if err != nil {
		return err
	}
	d, err := s.deployment(ctx, p.Model, p.Version)
	if err != nil {
		return err
	}
	want := modelgate.TrafficSplit{Stable: p.Previous, Canary: p.Version, CanaryPercent: pct}
	err = s.act(ctx, p, "start_canary", s.trafficIs(p.Model, want), func(ctx context.Context) error {
		return s.Deployer.StartCanary(ctx, d, pct)
	})
	if err != nil && transient(err) {
		return err
	}
	if err == nil {
		err = s.verifySplit(ctx, p.Model, want)
	}
	if err != nil {
		p.Reasons = []string{"The canary could not be started: " + modelgate.ErrorMessage(err)}
		return s.complete(ctx, p, rec, modelgate.ResultFailed, modelgate.CanaryEvidence{Traffic: want, Error: err.Error()})
	}
	if p.CanaryStart.IsZero() {
		p.CanaryStart = s.now()
	}
	s.emit(p, fmt.Sprintf("canary %s takes %d%% of production, %s keeps %d%%", p.Version, pct, p.Previous, 100-pct), nil)
	return s.complete(ctx, p, rec, modelgate.ResultOK, modelgate.CanaryEvidence{Traffic: want})
}

func (s *Service) trafficIs(model string, want modelgate.TrafficSplit) func(context.Context) (bool, error) {
	return func(ctx context.Context) (bool, error) {
		got, err := s.Deployer.Traffic(ctx, model)
		return got == want, err
	}
}

func (s *Service) verifySplit(ctx context.Context, model string, want modelgate.TrafficSplit) error {
	got, err := s.Deployer.Traffic(ctx, model)
	if err != nil {
		return fmt.Errorf("read traffic split: %w", err)
	}
	if got != want {
		return modelgate.Errorf(modelgate.EPRECONDITION, "traffic split is stable=%q canary=%q at %d%%, want stable=%q canary=%q at %d%%",
			got.Stable, got.Canary, got.CanaryPercent, want.Stable, want.Canary, want.CanaryPercent)
	}
	return nil
}

// failBeforeProduction ends a promotion that failed before production traffic
// moved: nothing needs undoing.
func (s *Service) failBeforeProduction(ctx context.Context, p *modelgate.Promotion, rec *modelgate.StepRecord, cause error) error {
	if transient(cause) {
		return cause
	}
	msg := modelgate.ErrorMessage(cause)
	p.Reasons = []string{fmt.Sprintf("The %s step failed, before production was touched: %s", rec.Step, msg)}
	var ev modelgate.Evidence
	switch rec.Step {
	case modelgate.StepVerify:
		ev = modelgate.VerifyEvidence{Error: msg}
	case modelgate.StepStaging:
		ev = modelgate.StagingEvidence{Error: msg}
	default:
		return modelgate.Errorf(modelgate.EINTERNAL, "step %s cannot fail before production", rec.Step)
	}
	return s.complete(ctx, p, rec, modelgate.ResultFailed, ev)
}

// transient reports whether err may go away by itself (an unreachable
// dependency, an interrupted run), so the promotion should stop where it is
// and be resumed rather than fail.
func transient(err error) bool {
	return modelgate.ErrorCode(err) == modelgate.EUNAVAILABLE ||
		errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// deployment returns the verified artifact of model/version, from the
// cache when it is there and still has the right digest, else downloaded
// and checked against the version's model_sha256 tag.
func (s *Service) deployment(ctx context.Context, model, version string) (modelgate.Deployment, error) {
	mv, err := s.Registry.GetVersion(ctx, model, version)
	if err != nil {
		return modelgate.Deployment{}, fmt.Errorf("read %s version %s: %w", model, version, err)
	}
	want := mv.Tags[modelgate.TagModelSHA256]
	d := modelgate.Deployment{Model: model, Version: version, Source: mv.Source, Digest: want}
	if want != "" {
		d.ModelDir = filepath.Join(s.CacheDir, "sha256", want)
		if got, err := modelgate.DirDigest(d.ModelDir); err == nil && got == want {
			return d, nil
		}
	}
	return s.download(ctx, mv, d)
}

func (s *Service) download(ctx context.Context, mv *modelgate.ModelVersion, d modelgate.Deployment) (modelgate.Deployment, error) {
	tmp, dir, got, err := s.fetch(ctx, mv)
	if err != nil {
		return d, err
	}
	defer os.RemoveAll(tmp)
	if d.Digest != "" && got != d.Digest {
		return d, digestMismatch(mv, dir, d.Digest, got)
	}
	d.Digest, d.ModelDir = got, filepath.Join(s.CacheDir, "sha256", got)
	if err := os.MkdirAll(filepath.Dir(d.ModelDir), 0o755); err != nil {
		return d, fmt.Errorf("create artifact cache: %w", err)
	}
	_ = os.RemoveAll(d.ModelDir) // a stale copy with the wrong content
	if err := os.Rename(dir, d.ModelDir); err != nil {
		return d, fmt.Errorf("store artifact in cache: %w", err)
	}
	return d, nil
}

// fetch downloads mv's artifact into a new directory tmp under the cache,
// which the caller removes, and digests it; dir holds the files.
func (s *Service) fetch(ctx context.Context, mv *modelgate.ModelVersion) (tmp, dir, digest string, err error) {
	if err := os.MkdirAll(s.CacheDir, 0o755); err != nil {
		return "", "", "", fmt.Errorf("create artifact cache: %w", err)
	}
	t, err := os.MkdirTemp(s.CacheDir, "download-")
	if err != nil {
		return "", "", "", fmt.Errorf("create artifact cache: %w", err)
	}
	if dir, err = s.Registry.DownloadArtifacts(ctx, mv.Name, mv.Version, filepath.Join(t, "model")); err != nil {
		os.RemoveAll(t)
		return "", "", "", fmt.Errorf("download artifacts of %s: %w", mv.Ref(), err)
	}
	if digest, err = modelgate.DirDigest(dir); err != nil {
		os.RemoveAll(t)
		return "", "", "", fmt.Errorf("digest artifacts of %s: %w", mv.Ref(), err)
	}
	return t, dir, digest, nil
}

// digestMismatch is the refusal of an artifact whose files do not give the
// tag's digest. It tells apart a tag computed on a models:/ download of the
// unchanged files (MLflow's client adds registered_model_meta to it) from
// files that changed.
func digestMismatch(mv *modelgate.ModelVersion, dir, want, got string) error {
	e := modelgate.Errorf(modelgate.EINVALID, "artifact of %s does not match its %s tag: tag says %s, downloaded files give %s", mv.Ref(), modelgate.TagModelSHA256, want, got)
	if trap, err := modelgate.IsModelsURIDigest(os.DirFS(dir), mv.Name, mv.Version, want); err == nil && trap {
		return e.WithHint("no file changed: the tag is the digest of a models:/ download, to which MLflow's client adds a %s file the registry does not hold; "+
			"set the digest of the registered files with `modelgate registry digest %s %s --set-tag`", modelgate.ModelsURIMetaFile, shellWord(mv.Name), mv.Version)
	}
	return e.WithHint("the artifact was changed or corrupted after registration; re-register the model")
}

// shellWord quotes s for a shell command line unless it needs no quoting.
func shellWord(s string) string {
	const plain = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-/@"
	if s != "" && !strings.ContainsFunc(s, func(r rune) bool { return !strings.ContainsRune(plain, r) }) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
