package mlmodelfile_test

import (
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/mlmodelfile"
)

func TestRead(t *testing.T) {
	ml, err := mlmodelfile.Read(filepath.Join("..", "mlmodel", "testdata", "every-op"))
	if err != nil {
		t.Fatal(err)
	}
	lgb, ok := ml.LightGBM()
	if !ok || lgb != (mlmodelfile.LightGBMFlavor{Data: "model.lgb", LGBVersion: "4.6.0", ModelClass: "lightgbm.basic.Booster"}) {
		t.Errorf("flavor %+v %v", lgb, ok)
	}
	yes := true
	wantIn := mlmodelfile.ColumnSpec{Type: "double", Name: "store", Required: &yes}
	if diff := cmp.Diff(wantIn, ml.Signature.Inputs[0]); diff != "" {
		t.Errorf("signature input 0 (-want +got):\n%s", diff)
	}
	wantOut := []mlmodelfile.ColumnSpec{{Type: "tensor", TensorSpec: &mlmodelfile.TensorSpec{DType: "float64", Shape: []int{-1}}}}
	if diff := cmp.Diff(wantOut, ml.Signature.Outputs); diff != "" {
		t.Errorf("signature outputs (-want +got):\n%s", diff)
	}
	if ft := ml.FeatureTransform; ft == nil || ft.DateFormat != "02/01/2006" || len(ft.Features) != 8 {
		t.Errorf("feature transform %+v", ft)
	}
	dir := t.TempDir()
	_, err = mlmodelfile.Read(filepath.Join(dir, "nope"))
	if modelgate.ErrorCode(err) != modelgate.ENOTFOUND {
		t.Errorf("missing directory: %v", err)
	}
	_, err = mlmodelfile.Read(dir)
	if modelgate.ErrorMessage(err) != dir+" is not an MLflow model directory: it has no MLmodel file" {
		t.Errorf("directory without MLmodel: %v", err)
	}
}

func TestParse_Lenient(t *testing.T) {
	text := `
artifact_path: model
time_created: 2019-01-01
flavors:
  lightgbm: {data: model.lgb, lgb_version: 3.3.5, model_class: lightgbm.basic.Booster, something_new: [1, 2]}
  python_function: {loader_module: mlflow.lightgbm}
future_field: {nested: true}
`
	ml, err := mlmodelfile.Parse([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	if lgb, _ := ml.LightGBM(); lgb.LGBVersion != "3.3.5" || ml.Signature != nil || ml.InputExample != nil || ml.FeatureTransform != nil {
		t.Errorf("got %+v", ml)
	}
	_, err = mlmodelfile.Parse([]byte("signature:\n  inputs: '[{\"type\": '\n"))
	if modelgate.ErrorCode(err) != modelgate.EINVALID {
		t.Errorf("bad signature JSON: got %v, want EINVALID", err)
	}
}

// TestParse_FeatureTransformUnquotedDates checks YAML timestamps decode as
// text, whether or not whoever wrote MLmodel quoted them.
func TestParse_FeatureTransformUnquotedDates(t *testing.T) {
	text := `
metadata:
  modelgate:
    feature_transform:
      date_format: 2006-01-02
      features:
        - {name: d, source: date, op: days_since, origin: 2023-01-01}
`
	ml, err := mlmodelfile.Parse([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	want := &mlmodelfile.FeatureTransform{DateFormat: "2006-01-02", Features: []mlmodelfile.FeatureSpec{
		{Name: "d", Source: "date", Op: mlmodelfile.OpDaysSince, Origin: "2023-01-01"}}}
	if diff := cmp.Diff(want, ml.FeatureTransform); diff != "" {
		t.Errorf("transform (-want +got):\n%s", diff)
	}
}
