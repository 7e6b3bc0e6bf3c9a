package mlmodel

import (
	"errors"
	"path/filepath"
	"slices"
	"strings"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/mlmodelfile"
	"github.com/modelgate/modelgate/xgboost"
)

// predictor is what Model needs of a booster; *lightgbm.Model and
// *xgboost.Model both satisfy it.
type predictor interface {
	FeatureNames() []string
	NumFeatures() int
	PredictBatch(rows [][]float64) ([]float64, error)
}

// xgboostClasses are the model classes mlflow.xgboost logs whose pyfunc
// predict is the booster's prediction over all trees. The scikit-learn
// classifiers are left out: their predict returns class labels.
var xgboostClasses = []string{
	"", // before MLflow 1.22, always a Booster
	"xgboost.core.Booster",
	"xgboost.sklearn.XGBRegressor",
	"xgboost.sklearn.XGBRFRegressor",
	"xgboost.sklearn.XGBRanker",
}

// loadXGBoost parses the xgboost flavor's model file (model.ubj, model.json
// or model.xgb, as mlflow.xgboost.save_model names it after model_format).
func loadXGBoost(dir string, ml *mlmodelfile.MLmodel) (*xgboost.Model, error) {
	flavor := ml.Flavors["xgboost"]
	str := func(k string) string { s, _ := flavor[k].(string); return s }
	data, class := str("data"), str("model_class")
	switch {
	case data == "":
		return nil, invalidf("model %s: the xgboost flavor names no data file", dir)
	case !filepath.IsLocal(data):
		return nil, invalidf("model %s: the xgboost flavor's data file %q is outside the model directory", dir, data)
	case !slices.Contains(xgboostClasses, class):
		return nil, notNative(invalidf("model %s: the xgboost flavor holds a %s, whose predict is not the booster's prediction; supported: %s", dir, class, strings.Join(xgboostClasses[1:], ", ")).
			WithHint("log the Booster (model.get_booster()) with mlflow.xgboost.log_model, or serve the model with MLflow's scoring server"))
	}
	b, err := xgboost.ParseFile(filepath.Join(dir, data))
	var me *modelgate.Error
	if errors.Is(err, xgboost.ErrUnsupported) && errors.As(err, &me) {
		return nil, notNative(me)
	} else if err != nil {
		return nil, err
	}
	if it, ok := b.Attribute("best_iteration"); ok && class != "xgboost.core.Booster" && class != "" {
		return nil, notNative(invalidf("model %s: the %s was trained with early stopping and predicts with trees up to best_iteration %s only; that is not supported natively", dir, class, it).
			WithHint("log the Booster (model.get_booster()), which predicts with all trees, or serve the model with MLflow's scoring server"))
	}
	return b, nil
}

// XGBoost is the XGBoost model behind the flavor, nil for a lightgbm model.
func (m *Model) XGBoost() *xgboost.Model {
	b, _ := m.booster.(*xgboost.Model)
	return b
}
