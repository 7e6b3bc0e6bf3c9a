package mlmodelfile

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"go.yaml.in/yaml/v3"

	"github.com/modelgate/modelgate"
)

// MLmodel is an MLmodel file. Only the fields modelgate uses are typed;
// unknown fields are ignored, as MLflow adds some in most releases.
type MLmodel struct {
	ArtifactPath   string `yaml:"artifact_path"`
	RunID          string `yaml:"run_id"`
	ModelID        string `yaml:"model_id"`
	ModelUUID      string `yaml:"model_uuid"`
	MLflowVersion  string `yaml:"mlflow_version"`
	UTCTimeCreated string `yaml:"utc_time_created"` // as MLflow writes it, e.g. "2025-01-01 00:00:00.000000"
	ModelSizeBytes int64  `yaml:"model_size_bytes"`
	// Flavors maps a flavor name (lightgbm, python_function, sklearn, …) to
	// its settings.
	Flavors      map[string]map[string]any `yaml:"flavors"`
	Signature    *Signature                `yaml:"signature"`                // nil if none was logged
	InputExample *InputExampleInfo         `yaml:"saved_input_example_info"` // nil if none was logged
	Metadata     map[string]any            `yaml:"metadata"`                 // free-form; see FeatureTransform
	// FeatureTransform is metadata.modelgate.feature_transform, nil if the
	// file declares none.
	FeatureTransform *FeatureTransform `yaml:"-"`
}

// InputExampleInfo says where the logged input example is.
type InputExampleInfo struct {
	ArtifactPath     string `yaml:"artifact_path"`      // e.g. input_example.json
	ServingInputPath string `yaml:"serving_input_path"` // e.g. serving_input_example.json
	Type             string `yaml:"type"`               // e.g. dataframe
	PandasOrient     string `yaml:"pandas_orient"`      // e.g. split
}

// Signature is the model's declared input and output schema. MLflow stores
// each part as a JSON string inside the YAML; both forms are kept.
type Signature struct {
	Inputs      []ColumnSpec
	Outputs     []ColumnSpec
	InputsJSON  string
	OutputsJSON string
	ParamsJSON  string // "" when there are none
}

// ColumnSpec is one entry of a signature: a named column ("type": "double")
// or a tensor.
type ColumnSpec struct {
	Type       string      `json:"type"`
	Name       string      `json:"name,omitempty"`
	Required   *bool       `json:"required,omitempty"`
	TensorSpec *TensorSpec `json:"tensor-spec,omitempty"`
}

// TensorSpec is a tensor's element type and shape (-1 for any size).
type TensorSpec struct {
	DType string `json:"dtype"`
	Shape []int  `json:"shape"`
}

// UnmarshalYAML decodes the JSON strings MLflow nests in the signature.
func (s *Signature) UnmarshalYAML(n *yaml.Node) error {
	var raw struct {
		Inputs  string `yaml:"inputs"`
		Outputs string `yaml:"outputs"`
		Params  string `yaml:"params"`
	}
	if err := n.Decode(&raw); err != nil {
		return err
	}
	*s = Signature{InputsJSON: raw.Inputs, OutputsJSON: raw.Outputs, ParamsJSON: raw.Params}
	if err := decodeSpecs(raw.Inputs, &s.Inputs); err != nil {
		return fmt.Errorf("signature inputs: %w", err)
	}
	if err := decodeSpecs(raw.Outputs, &s.Outputs); err != nil {
		return fmt.Errorf("signature outputs: %w", err)
	}
	return nil
}

func decodeSpecs(text string, specs *[]ColumnSpec) error {
	if text == "" {
		return nil
	}
	return json.Unmarshal([]byte(text), specs)
}

// LightGBMFlavor is the lightgbm flavor's settings.
type LightGBMFlavor struct {
	Data       string // model file, relative to the model directory, e.g. model.lgb
	LGBVersion string // lightgbm version that wrote it
	ModelClass string // lightgbm.basic.Booster, or a pickled scikit-learn wrapper
}

// LightGBM returns the lightgbm flavor, if the model has one.
func (m *MLmodel) LightGBM() (LightGBMFlavor, bool) {
	f, ok := m.Flavors["lightgbm"]
	if !ok {
		return LightGBMFlavor{}, false
	}
	str := func(k string) string { s, _ := f[k].(string); return s }
	return LightGBMFlavor{Data: str("data"), LGBVersion: str("lgb_version"), ModelClass: str("model_class")}, true
}

// Read reads and parses the MLmodel file of the model directory dir.
// ENOTFOUND if dir does not exist; EINVALID, naming dir, if it has no
// MLmodel file or the file does not parse.
func Read(dir string) (*MLmodel, error) {
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return nil, modelgate.Errorf(modelgate.ENOTFOUND, "model directory %s does not exist", dir)
	}
	text, err := os.ReadFile(filepath.Join(dir, "MLmodel"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, modelgate.Errorf(modelgate.EINVALID, "%s is not an MLflow model directory: it has no MLmodel file", dir)
	} else if err != nil {
		return nil, fmt.Errorf("read MLmodel: %w", err)
	}
	ml, err := Parse(text)
	if err != nil {
		return nil, &modelgate.Error{Code: modelgate.EINVALID, Message: fmt.Sprintf("model %s: MLmodel: %s", dir, modelgate.ErrorMessage(err)), Err: err}
	}
	return ml, nil
}

// Parse decodes the text of an MLmodel file, its feature transform
// included. EINVALID if it is not YAML of the expected shape.
func Parse(text []byte) (*MLmodel, error) {
	var m MLmodel
	if err := yaml.Unmarshal(text, &m); err != nil {
		return nil, &modelgate.Error{Code: modelgate.EINVALID, Message: err.Error(), Err: err}
	}
	ft, err := parseFeatureTransform(text)
	if err != nil {
		return nil, &modelgate.Error{Code: modelgate.EINVALID, Message: err.Error(), Err: err}
	}
	m.FeatureTransform = ft
	return &m, nil
}
