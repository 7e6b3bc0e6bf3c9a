package gateway

import (
	"encoding/json"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/wire"
)

// UpstreamMLflow is the protocol of MLflow's own scoring server (`mlflow
// models serve`, mlflow.pyfunc.scoring_server): POST /invocations with a
// pandas DataFrame in JSON, GET /ping for readiness.
const UpstreamMLflow = "mlflow"

// MLflow scoring server routes.
const (
	mlflowInvocations = "/invocations"
	mlflowPing        = "/ping"
)

// mlflowRequest encodes instances for /invocations: objects of fields as
// {"dataframe_records": [...]}, which MLflow turns into a DataFrame with
// one column per field and checks against the model's signature; arrays
// of values, with the model's column names known, as {"dataframe_split":
// {"columns": [...], "data": [...]}}, else as {"instances": [...]},
// MLflow's tensor input.
func mlflowRequest(instances []any, columns []string) ([]byte, error) {
	for _, inst := range instances {
		if _, ok := inst.(map[string]any); ok {
			continue
		}
		if len(columns) > 0 {
			type split struct {
				Columns []string `json:"columns"`
				Data    []any    `json:"data"`
			}
			return json.Marshal(struct {
				Split split `json:"dataframe_split"`
			}{split{columns, instances}})
		}
		return json.Marshal(struct {
			Instances []any `json:"instances"`
		}{instances})
	}
	return json.Marshal(struct {
		Records []any `json:"dataframe_records"`
	}{instances})
}

// decodeMLflowPredictions reads the scoring server's answer,
// {"predictions": [...]} with one number per row (MLflow writes a model's
// one-column output as plain numbers).
func decodeMLflowPredictions(b []byte) ([]float64, error) {
	preds, err := wire.DecodeV1Predictions(b)
	if err != nil {
		return nil, modelgate.Errorf(modelgate.EINVALID, "not MLflow scoring server predictions: %s", modelgate.ErrorMessage(err))
	}
	return preds, nil
}

// mlflowMessage extracts MLflow's error answer, {"error_code": ...,
// "message": ...}; "" if b is not one.
func mlflowMessage(b []byte) string {
	var e struct {
		Code    string `json:"error_code"`
		Message string `json:"message"`
	}
	if json.Unmarshal(b, &e) != nil || e.Message == "" {
		return ""
	}
	return e.Code + ": " + e.Message
}
