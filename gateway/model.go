package gateway

import (
	"errors"
	"io/fs"

	"github.com/modelgate/modelgate"
)

// Model is what the gateway needs from a loaded model. Implementations must
// be safe for concurrent use.
type Model interface {
	// FeatureNames returns the model's input features, in column order.
	FeatureNames() []string
	// Features turns request instances into feature rows. An instance is a
	// map[string]any of raw fields or a []any of feature values. Bad
	// instances are reported as *modelgate.Error EINVALID with a precise
	// message.
	Features(instances []any) ([][]float64, error)
	// Predict returns one prediction per row, in a slice the caller keeps.
	Predict(rows [][]float64) ([]float64, error)
}

// Loader loads the model stored in a local model directory.
type Loader func(dir string) (Model, error)

// revision is one loaded model version. It is immutable and shared between
// traffic splits, so a promotion never reloads the canary.
type revision struct {
	dep      modelgate.Deployment
	model    Model
	features []string          // FeatureNames, read once
	inputs   *inputPolicy      // the JSON types it accepts; nil: not checked
	fields   map[string]string // the field names its requests carry, each to itself (scanner.names)
}

// newRevision wraps a loaded model.
func newRevision(d modelgate.Deployment, m Model) *revision {
	return &revision{dep: d, model: m, features: m.FeatureNames(), inputs: policyOf(m), fields: fieldsOf(m)}
}

// fieldsOf is the field names requests to m carry: its features, or the
// sources of its feature transform.
func fieldsOf(m Model) map[string]string {
	names := map[string]string{}
	for _, n := range m.FeatureNames() {
		names[n] = n
	}
	if d, ok := m.(mlmodelDescribed); ok && d.MLmodel() != nil && d.MLmodel().FeatureTransform != nil {
		for _, f := range d.MLmodel().FeatureTransform.Features {
			names[f.Source] = f.Source
		}
	}
	return names
}

// sameDeployment reports whether r already serves d's artifact.
func (r *revision) sameDeployment(d modelgate.Deployment) bool {
	return r != nil && r.dep.Version == d.Version && r.dep.Digest == d.Digest
}

// verifyArtifact recomputes the digest of d.ModelDir and refuses d unless
// it equals d.Digest. Checking the registry is the engine's duty; the
// gateway's is to serve exactly the bytes whose digest the caller named,
// so an admin call cannot make production serve an unregistered model.
func (s *Server) verifyArtifact(d modelgate.Deployment) error {
	if d.ModelDir == "" {
		return modelgate.Errorf(modelgate.EINVALID, "deployment of model %q version %s has no model_dir", d.Model, d.Version)
	}
	if d.Digest == "" {
		return modelgate.Errorf(modelgate.EINVALID,
			"deployment of model %q version %s names no digest; the gateway serves only a model directory whose digest it can check", d.Model, d.Version)
	}
	got, err := s.opts.DirDigest(d.ModelDir)
	if err != nil {
		return loadError(d, err)
	}
	if got != d.Digest {
		return modelgate.Errorf(modelgate.EINVALID,
			"model directory %s of model %q version %s has digest %s, not %s as the request says; refusing to serve it",
			d.ModelDir, d.Model, d.Version, got, d.Digest)
	}
	s.opts.Logger.Info("gateway verified artifact", "model", d.Model, "version", d.Version, "digest", got, "dir", d.ModelDir)
	return nil
}

// loadRevision loads d.ModelDir with load, translating failures into
// *modelgate.Error.
func loadRevision(load Loader, d modelgate.Deployment) (*revision, error) {
	if d.ModelDir == "" {
		return nil, modelgate.Errorf(modelgate.EINVALID, "deployment of model %q version %s has no model_dir", d.Model, d.Version)
	}
	m, err := load(d.ModelDir)
	if err != nil {
		return nil, loadError(d, err)
	}
	return newRevision(d, m), nil
}

func loadError(d modelgate.Deployment, err error) error {
	code := modelgate.ErrorCode(err)
	var e *modelgate.Error
	switch {
	case errors.As(err, &e):
	case errors.Is(err, fs.ErrNotExist):
		code = modelgate.ENOTFOUND
	default:
		code = modelgate.EINVALID
	}
	return &modelgate.Error{
		Code:    code,
		Message: "load model " + d.Model + " version " + d.Version + " from " + d.ModelDir + ": " + modelgate.ErrorMessage(err),
		Err:     err,
	}
}

// findRevision returns a loaded revision serving d, or nil.
func findRevision(d modelgate.Deployment, candidates ...*revision) *revision {
	for _, r := range candidates {
		if r.sameDeployment(d) {
			return r
		}
	}
	return nil
}
