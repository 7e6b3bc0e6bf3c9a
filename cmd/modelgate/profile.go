package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/mlmodel"
	"github.com/modelgate/modelgate/profile"
)

// withReferenceProfile returns a copy of the model directory dir with the
// training reference profile computed from the CSV sample (raw request
// fields, as the model's feature transform reads them) written into it as
// modelgate.ReferenceProfileFile, so the profile is registered with the
// artifact and covered by its digest. The caller removes the copy.
func withReferenceProfile(dir, sample string) (string, error) {
	m, err := mlmodel.Load(dir)
	if err != nil {
		return "", err
	}
	prof, err := referenceProfile(m, sample)
	if err != nil {
		return "", err
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
	b, _ := json.Marshal(prof)
	if err := os.WriteFile(filepath.Join(copyDir, modelgate.ReferenceProfileFile), b, 0o644); err != nil {
		os.RemoveAll(tmp)
		return "", err
	}
	return copyDir, nil
}

// referenceProfile profiles the model's features and predictions on the sample.
func referenceProfile(m *mlmodel.Model, sample string) (*modelgate.Profile, error) {
	rows, err := readInstances(sample)
	if err != nil {
		return nil, &usageErr{fmt.Errorf("--reference-sample: %v", err)}
	}
	instances := make([]any, len(rows))
	for i, r := range rows {
		instances[i] = r
	}
	x, err := m.Features(instances)
	if err != nil {
		return nil, fmt.Errorf("reference sample %s: %w", sample, err)
	}
	preds, err := m.Predict(x)
	if err != nil {
		return nil, fmt.Errorf("reference sample %s: %w", sample, err)
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
