package mlmodelfile

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// LoggedColumns returns the input column names as the user logged them:
// the signature's named inputs, else the columns of the saved input
// example (a DataFrame in pandas' split orient, as MLflow saves it), else
// nil. A model library may store other names (LightGBM writes "a b" as
// "a_b"); these are the names a client knows. dir is the model directory
// of m. An input example that cannot be read is an error, naming it.
func LoggedColumns(dir string, m *MLmodel) ([]string, error) {
	if m.Signature != nil {
		if names := namedInputs(m.Signature.Inputs); names != nil {
			return names, nil
		}
	}
	ie := m.InputExample
	if ie == nil || ie.ArtifactPath == "" || ie.Type != "dataframe" || !filepath.IsLocal(ie.ArtifactPath) {
		return nil, nil
	}
	b, err := os.ReadFile(filepath.Join(dir, ie.ArtifactPath))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("read input example: %w", err)
	}
	var split struct {
		Columns []string `json:"columns"`
	}
	if err := json.Unmarshal(b, &split); err != nil {
		// Another orient or a non-string column label: no names to offer.
		return nil, nil
	}
	return split.Columns, nil
}

// namedInputs returns the names of specs, nil unless every one has a name
// (a tensor signature has none).
func namedInputs(specs []ColumnSpec) []string {
	names := make([]string, 0, len(specs))
	for _, s := range specs {
		if s.Name == "" {
			return nil
		}
		names = append(names, s.Name)
	}
	if len(names) == 0 {
		return nil
	}
	return names
}
