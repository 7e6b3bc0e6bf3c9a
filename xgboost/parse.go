package xgboost

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/modelgate/modelgate"
)

// scoringServerHint is the hint on every "not supported natively" error.
const scoringServerHint = "serve this model with MLflow's scoring server (mlflow models serve) instead of natively"

// ErrUnsupported is wrapped by the refusals of valid models this package
// cannot evaluate (as opposed to corrupt files), so a caller can hand such a
// model to another server.
var ErrUnsupported = errors.New("not supported natively")

// unsupported marks a refusal as ErrUnsupported, with the scoring-server hint.
func unsupported(e *modelgate.Error, hint string) *modelgate.Error {
	e = e.WithHint("%s", hint)
	e.Err = ErrUnsupported
	return e
}

// ParseFile reads an XGBoost model file in JSON or UBJSON format; the format
// is recognised from the content, not the name. ENOTFOUND if the file does
// not exist; EINVALID, naming the file, if it is not a model this package
// can evaluate.
func ParseFile(path string) (*Model, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, modelgate.Errorf(modelgate.ENOTFOUND, "XGBoost model file %s does not exist", path)
	} else if err != nil {
		return nil, fmt.Errorf("read XGBoost model: %w", err)
	}
	m, err := Parse(b)
	if err != nil {
		var e *modelgate.Error
		if errors.As(err, &e) {
			return nil, &modelgate.Error{Code: e.Code, Message: path + ": " + e.Message, Hint: e.Hint, Err: err}
		}
		return nil, err
	}
	return m, nil
}

// Parse reads an XGBoost model in JSON or UBJSON format. EINVALID if it is
// neither, or holds something this package cannot evaluate exactly.
func Parse(b []byte) (*Model, error) {
	root, err := decode(b)
	if err != nil {
		return nil, invalidf("not an XGBoost JSON or UBJSON model: %v", err).
			WithHint("save the model with Booster.save_model to a .json or .ubj file")
	}
	m, err := build(root)
	if err != nil {
		var e *modelgate.Error
		if errors.As(err, &e) {
			return nil, e
		}
		return nil, invalidf("XGBoost model: %v", err)
	}
	return m, nil
}

// decode tells the formats apart by their second byte: a UBJSON object's
// first key starts with its length marker, a JSON object's with '"' or
// white space.
func decode(b []byte) (any, error) {
	t := bytes.TrimLeft(b, " \t\r\n")
	switch {
	case len(t) < 2 || t[0] != '{':
		return nil, fmt.Errorf("the data does not start with an object (the old binary format, which XGBoost 3 no longer writes, is not read)")
	case len(b) >= 2 && b[0] == '{' && intSize(b[1]) > 0:
		return decodeUBJSON(b)
	}
	return decodeJSON(b)
}

// build turns the decoded document into a Model, checking everything the
// predictor relies on.
func build(root any) (*Model, error) {
	doc, err := object(root, "the model")
	if err != nil {
		return nil, err
	}
	learner, err := field(doc, "learner", "model")
	if err != nil {
		return nil, err
	}
	m := &Model{}
	if err := m.readParams(learner); err != nil {
		return nil, err
	}
	gb, err := field(learner, "gradient_booster", "learner")
	if err != nil {
		return nil, err
	}
	if err := m.readBooster(gb); err != nil {
		return nil, err
	}
	return m, nil
}

// readParams reads feature names and types, learner_model_param and the
// objective.
func (m *Model) readParams(learner map[string]any) error {
	var err error
	if m.featureNames, err = stringList(learner["feature_names"], "learner.feature_names"); err != nil {
		return err
	}
	if m.featureTypes, err = stringList(learner["feature_types"], "learner.feature_types"); err != nil {
		return err
	}
	if m.attributes, err = attributes(learner["attributes"]); err != nil {
		return err
	}
	p, err := field(learner, "learner_model_param", "learner")
	if err != nil {
		return err
	}
	const name = "learner_model_param"
	if m.numFeature, err = intString(p, "num_feature", name, -1); err != nil {
		return err
	} else if m.numFeature < 0 {
		return fmt.Errorf("%s has no num_feature", name)
	}
	numClass, err := intString(p, "num_class", name, 0)
	if err != nil {
		return err
	}
	numTarget, err := intString(p, "num_target", name, 1)
	if err != nil {
		return err
	}
	m.outputs = max(numClass, numTarget, 1)
	if err := m.checkFeatureLists(); err != nil {
		return err
	}
	obj, err := field(learner, "objective", "learner")
	if err != nil {
		return err
	}
	objName, err := stringField(obj, "name", "learner.objective")
	if err != nil {
		return err
	}
	if m.objective, err = lookupObjective(objName); err != nil {
		return err
	}
	baseScore, err := stringField(p, "base_score", name)
	if err != nil {
		return err
	}
	return m.setBaseMargin(baseScore)
}

// attributes reads learner.attributes, string values by key.
func attributes(v any) (map[string]string, error) {
	if v == nil {
		return nil, nil
	}
	obj, err := object(v, "learner.attributes")
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(obj))
	for k := range obj {
		if out[k], err = stringField(obj, k, "learner.attributes"); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (m *Model) checkFeatureLists() error {
	if n := len(m.featureNames); n != 0 && n != m.numFeature {
		return fmt.Errorf("learner has %d feature names for num_feature %d", n, m.numFeature)
	}
	if n := len(m.featureTypes); n != 0 && n != m.numFeature {
		return fmt.Errorf("learner has %d feature types for num_feature %d", n, m.numFeature)
	}
	return nil
}

// setBaseMargin parses base_score, a JSON list of float32 since XGBoost 3.1
// ("[5E-1]") and a bare number before, repeats a single value over the
// outputs as XGBoost does for old models, and maps it to margin space with
// the objective's ProbToMargin.
func (m *Model) setBaseMargin(text string) error {
	inner := strings.TrimSpace(text)
	inner = strings.TrimSuffix(strings.TrimPrefix(inner, "["), "]")
	var scores []float32
	for _, s := range strings.Split(inner, ",") {
		f, err := float32Of(json.Number(strings.TrimSpace(s)))
		if err != nil {
			return fmt.Errorf("learner_model_param.base_score %q: %w", text, err)
		}
		scores = append(scores, f)
	}
	if len(scores) == 1 && m.outputs > 1 {
		for len(scores) < m.outputs {
			scores = append(scores, scores[0])
		}
	}
	if len(scores) != m.outputs {
		return fmt.Errorf("learner_model_param.base_score %q has %d values for %d outputs", text, len(scores), m.outputs)
	}
	m.baseScore = scores
	m.baseMargin = make([]float32, len(scores))
	for k, s := range scores {
		m.baseMargin[k] = m.objective.probToMargin(s)
	}
	return nil
}

// readBooster reads gbtree and dart boosters and refuses the others.
func (m *Model) readBooster(gb map[string]any) error {
	name, err := stringField(gb, "name", "gradient_booster")
	if err != nil {
		return err
	}
	m.booster = name
	var model map[string]any
	switch name {
	case "gbtree":
		if model, err = field(gb, "model", "gradient_booster"); err != nil {
			return err
		}
	case "dart":
		inner, err := field(gb, "gbtree", "gradient_booster")
		if err != nil {
			return err
		}
		if model, err = field(inner, "model", "gradient_booster.gbtree"); err != nil {
			return err
		}
		if m.weights, err = floats32(gb["weight_drop"], "gradient_booster.weight_drop"); err != nil {
			return err
		}
	default:
		return unsupported(invalidf("XGBoost booster %q is not supported natively; supported: gbtree, dart", name), scoringServerHint)
	}
	if err := checkNoRecoder(model); err != nil {
		return err
	}
	return m.readTrees(model)
}

// checkNoRecoder refuses models that re-code pandas category values
// (gradient_booster.model.cats, XGBoost 3.1+): the trees see category
// codes, which only the Python package derives from the values.
func checkNoRecoder(model map[string]any) error {
	cats, ok := model["cats"].(map[string]any)
	if !ok {
		return nil
	}
	if enc, ok := cats["enc"].([]any); ok && len(enc) > 0 {
		return unsupported(invalidf("the XGBoost model was trained on pandas category columns, whose values it re-codes to category codes; that re-coding is not supported natively"),
			"train on numeric category codes (DMatrix with feature_types 'c'), or "+scoringServerHint)
	}
	return nil
}

// readTrees reads the trees, tree_info and, for dart, checks the weights.
func (m *Model) readTrees(model map[string]any) error {
	raw, ok := model["trees"].([]any)
	if !ok {
		return fmt.Errorf("gradient_booster.model.trees is missing or not an array")
	}
	info, err := ints(model["tree_info"], "gradient_booster.model.tree_info")
	if err != nil {
		return err
	}
	if len(info) != len(raw) {
		return fmt.Errorf("gradient_booster.model has %d trees and %d tree_info entries", len(raw), len(info))
	}
	if m.weights != nil && len(m.weights) != len(raw) {
		return fmt.Errorf("dart has %d trees and %d weights", len(raw), len(m.weights))
	}
	m.groups = make([]int, len(raw))
	m.trees = make([]tree, len(raw))
	for i, t := range raw {
		if info[i] < 0 || info[i] >= int64(m.outputs) {
			return fmt.Errorf("tree_info[%d] is %d, not an output of 0..%d", i, info[i], m.outputs-1)
		}
		m.groups[i] = int(info[i])
		if err := m.trees[i].read(t, m.numFeature); err != nil {
			var e *modelgate.Error
			if errors.As(err, &e) {
				return e
			}
			return fmt.Errorf("tree %d: %w", i, err)
		}
	}
	return nil
}

func invalidf(format string, args ...any) *modelgate.Error {
	return modelgate.Errorf(modelgate.EINVALID, format, args...)
}
