package mlmodel

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/profile"
)

// WithReferenceProfile returns a copy of the model directory dir with the
// training reference profile computed from sample (raw request fields, as
// the model's feature transform reads them) written into it as
// modelgate.ReferenceProfileFile, so the profile is registered with the
// artifact and covered by its digest. The caller removes the copy's parent
// directory.
func WithReferenceProfile(dir string, sample []map[string]any) (string, error) {
	m, err := Load(dir)
	if err != nil {
		return "", err
	}
	prof, err := ReferenceProfile(m, sample)
	if err != nil {
		return "", err
	}
	b, err := json.Marshal(prof)
	if err != nil {
		return "", fmt.Errorf("encode reference profile: %w", err)
	}
	tmp, err := os.MkdirTemp("", "modelgate-register-")
	if err != nil {
		return "", err
	}
	copyDir := filepath.Join(tmp, "model")
	if err := os.CopyFS(copyDir, os.DirFS(dir)); err != nil {
		os.RemoveAll(tmp)
		return "", fmt.Errorf("copy model directory: %w", err)
	}
	if err := os.WriteFile(filepath.Join(copyDir, modelgate.ReferenceProfileFile), b, 0o644); err != nil {
		os.RemoveAll(tmp)
		return "", fmt.Errorf("write reference profile: %w", err)
	}
	return copyDir, nil
}

// ReferenceProfile profiles the model's features and predictions on sample.
func ReferenceProfile(m *Model, sample []map[string]any) (*modelgate.Profile, error) {
	if len(sample) == 0 {
		return nil, modelgate.Errorf(modelgate.EINVALID, "the reference sample has no rows")
	}
	instances := make([]any, len(sample))
	for i, r := range sample {
		instances[i] = r
	}
	x, err := m.Features(instances)
	if err != nil {
		return nil, fmt.Errorf("reference sample: %w", err)
	}
	preds, err := m.Predict(x)
	if err != nil {
		return nil, fmt.Errorf("reference sample: %w", err)
	}
	b := profile.NewBuilder(m.FeatureNames())
	for i, row := range x {
		if err := b.AddRow(row); err != nil {
			return nil, err
		}
		b.AddPrediction(preds[i])
	}
	return b.Profile(), nil
}
