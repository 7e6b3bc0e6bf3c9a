package mlmodel

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/lightgbm"
	"github.com/modelgate/modelgate/mlmodelfile"
)

// Model is a loaded MLflow model directory, ready to predict. It is
// read-only after Load and safe for concurrent use.
type Model struct {
	dir       string
	mlmodel   *mlmodelfile.MLmodel
	booster   predictor  // *lightgbm.Model or *xgboost.Model
	transform *transform // the declared transform, checked against the booster
	inputs    *inputs    // logged names and category codes; nil if neither applies
}

// Load reads the model directory dir: its MLmodel file, the lightgbm or
// xgboost flavor's model file and the declared feature transform, and checks that
// they agree. ENOTFOUND if dir does not exist; EINVALID, naming dir, for
// anything that cannot be served, wrapping ErrNotNative when only Python
// can serve it.
func Load(dir string) (*Model, error) {
	ml, err := mlmodelfile.Read(dir)
	if err != nil {
		return nil, err
	}
	m := &Model{dir: dir, mlmodel: ml}
	switch {
	case ml.Flavors["xgboost"] != nil:
		m.booster, err = loadXGBoost(dir, ml)
	default:
		m.booster, err = loadBooster(dir, ml)
	}
	if err != nil {
		return nil, err
	}
	if m.inputs, err = newInputs(dir, ml, m.booster); err != nil {
		return nil, err
	}
	if ml.FeatureTransform != nil {
		if m.transform, err = compile(ml.FeatureTransform, m.booster.FeatureNames()); err != nil {
			return nil, invalidf("model %s: %v", dir, err)
		}
	}
	return m, nil
}

// loadBooster parses the lightgbm flavor's model file.
func loadBooster(dir string, ml *mlmodelfile.MLmodel) (*lightgbm.Model, error) {
	flavor, ok := ml.LightGBM()
	if !ok {
		return nil, notNative(invalidf("model %s: model flavor %s is not supported natively; supported: lightgbm, xgboost", dir, flavorNames(ml)))
	}
	switch {
	case flavor.Data == "":
		return nil, invalidf("model %s: the lightgbm flavor names no data file", dir)
	case !filepath.IsLocal(flavor.Data):
		return nil, invalidf("model %s: the lightgbm flavor's data file %q is outside the model directory", dir, flavor.Data)
	case strings.HasSuffix(flavor.Data, ".pkl") || strings.Contains(flavor.ModelClass, "sklearn"):
		return nil, notNative(invalidf("model %s: the lightgbm flavor holds a serialized %s (%s), which only Python can read", dir, flavor.ModelClass, flavor.Data).
			WithHint("log the Booster (model.booster_) with mlflow.lightgbm.log_model instead"))
	}
	return lightgbm.ParseFile(filepath.Join(dir, flavor.Data))
}

// flavorNames lists the model's flavors other than python_function, which
// every MLflow model has.
func flavorNames(ml *mlmodelfile.MLmodel) string {
	var names []string
	for name := range ml.Flavors {
		if name != "python_function" {
			names = append(names, name)
		}
	}
	if len(names) == 0 {
		names = []string{"python_function"}
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// Dir is the model directory Load read.
func (m *Model) Dir() string { return m.dir }

// MLmodel is the parsed MLmodel file: flavors, signature, metadata, input
// example, feature transform. Callers must not modify it.
func (m *Model) MLmodel() *mlmodelfile.MLmodel { return m.mlmodel }

// Booster is the LightGBM model behind the flavor, nil for an xgboost
// model (see XGBoost).
func (m *Model) Booster() *lightgbm.Model {
	b, _ := m.booster.(*lightgbm.Model)
	return b
}

// Transform is the declared feature transform, nil if MLmodel declares none.
// Callers must not modify it.
func (m *Model) Transform() *mlmodelfile.FeatureTransform { return m.mlmodel.FeatureTransform }

// InputExamplePath is the path of the logged input example
// (input_example.json), "" if none was logged.
func (m *Model) InputExamplePath() string {
	if ie := m.mlmodel.InputExample; ie != nil && ie.ArtifactPath != "" {
		return filepath.Join(m.dir, ie.ArtifactPath)
	}
	return ""
}

// ServingInputExamplePath is the path of the logged serving payload
// (serving_input_example.json), "" if none was logged.
func (m *Model) ServingInputExamplePath() string {
	if ie := m.mlmodel.InputExample; ie != nil && ie.ServingInputPath != "" {
		return filepath.Join(m.dir, ie.ServingInputPath)
	}
	return ""
}

// FeatureNames returns the booster's feature names in model order.
func (m *Model) FeatureNames() []string { return m.booster.FeatureNames() }

// CategoryColumns are the booster's names of its pandas category
// columns, whose values are category labels: null there is a missing
// value, and a boolean may be one of the labels.
func (m *Model) CategoryColumns() []string {
	if m.inputs == nil {
		return nil
	}
	names := make([]string, len(m.inputs.cats))
	for i, c := range m.inputs.cats {
		names[i] = c.name
	}
	return names
}

// Features turns request instances into feature rows. An instance is either
// a JSON object (map[string]any, as encoding/json decodes it, with or
// without UseNumber) of raw fields, transformed by the declared transform
// or, without one, looked up by feature name; or a JSON array ([]any) of
// feature values in model order. Fields the model does not use are ignored.
// A field may be named as the booster names it or as the user logged it
// (LightGBM stores "a b" as "a_b"); the values of pandas category columns
// are coded as LightGBM's Python predict codes them (see category).
// EINVALID, naming the instance and field, for anything else.
func (m *Model) Features(instances []any) ([][]float64, error) {
	if m.inputs != nil {
		instances = m.inputs.rewrite(instances)
	}
	n := m.booster.NumFeatures()
	rows := make([][]float64, len(instances))
	values := make([]float64, len(instances)*n) // one allocation for all rows
	for i, inst := range instances {
		row := values[i*n : (i+1)*n : (i+1)*n]
		if err := m.features(inst, row); err != nil {
			return nil, invalidf("instance %d: %v", i, err)
		}
		rows[i] = row
	}
	return rows, nil
}

// features fills row, of NumFeatures values, from one instance.
func (m *Model) features(inst any, row []float64) error {
	switch v := inst.(type) {
	case map[string]any:
		if m.transform != nil {
			return m.transform.row(v, row)
		}
		return m.byName(v, row)
	case []any:
		return m.fromArray(v, row)
	}
	return fmt.Errorf("want an object of fields or an array of %d feature values, got %s", m.booster.NumFeatures(), describe(inst))
}

// byName looks every feature up by its name.
func (m *Model) byName(fields map[string]any, row []float64) error {
	for i, name := range m.booster.FeatureNames() {
		raw, ok := fields[name]
		if !ok {
			return fmt.Errorf("missing field %q", name)
		}
		v, err := toNumber(raw)
		if err != nil {
			return fmt.Errorf("field %q: %w", name, err)
		}
		row[i] = v
	}
	return nil
}

func (m *Model) fromArray(values []any, row []float64) error {
	names := m.booster.FeatureNames()
	if len(values) != len(names) {
		return fmt.Errorf("want %d feature values (%s), got %d", len(names), strings.Join(names, ", "), len(values))
	}
	for i, raw := range values {
		v, err := toNumber(raw)
		if err != nil {
			return fmt.Errorf("value %d (%s): %w", i, names[i], err)
		}
		row[i] = v
	}
	return nil
}

// Predict returns one prediction per feature row, as LightGBM's or
// XGBoost's predict would. EINVALID, naming the row, if a row has the wrong number of values.
func (m *Model) Predict(rows [][]float64) ([]float64, error) {
	return m.booster.PredictBatch(rows)
}

func invalidf(format string, args ...any) *modelgate.Error {
	return modelgate.Errorf(modelgate.EINVALID, format, args...)
}

// clip shortens text quoted in an error.
func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}
