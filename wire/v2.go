package wire

import (
	"encoding/json"

	"github.com/modelgate/modelgate"
)

// Tensor is one V2 input or output tensor. Data is flat or nested,
// row-major, as JSON carries it; DecodeV2Response flattens it to []any whose
// leaves are float64 (NaN and ±Inf for null and the non-standard NaN and
// Infinity tokens), bool or string.
type Tensor struct {
	Name     string  `json:"name"`
	Datatype string  `json:"datatype"`
	Shape    []int64 `json:"shape"`
	Data     any     `json:"data"`
}

// TensorMeta describes a tensor in V2 model metadata; -1 in Shape is any size.
type TensorMeta struct {
	Name     string  `json:"name"`
	Datatype string  `json:"datatype"`
	Shape    []int64 `json:"shape"`
}

// V2Request is a V2 inference request.
type V2Request struct {
	ID     string   `json:"id,omitempty"`
	Inputs []Tensor `json:"inputs"`
}

// V2Response is a V2 inference answer.
type V2Response struct {
	ModelName    string   `json:"model_name"`
	ModelVersion string   `json:"model_version"`
	ID           string   `json:"id,omitempty"`
	Outputs      []Tensor `json:"outputs"`
}

// V2Metadata is the answer of GET /v2/models/{name}.
type V2Metadata struct {
	Name     string       `json:"name"`
	Versions []string     `json:"versions"`
	Platform string       `json:"platform"`
	Inputs   []TensorMeta `json:"inputs"`
	Outputs  []TensorMeta `json:"outputs"`
}

// PredictOutput is the output a model server answering one number per
// instance writes: "predict", FP64, shape [N].
func PredictOutput(preds []float64) Tensor {
	return Tensor{Name: "predict", Datatype: "FP64", Shape: []int64{int64(len(preds))}, Data: preds}
}

// DecodeV2Response decodes a V2 inference answer, flattening every output's
// data. EINVALID when it is not a V2 response or has no "outputs".
func DecodeV2Response(b []byte) (*V2Response, error) {
	var out V2Response
	if err := json.Unmarshal(NonFiniteAsStrings(b), &out); err != nil {
		return nil, modelgate.Errorf(modelgate.EINVALID, "not a V2 inference response: %v", err)
	}
	if out.Outputs == nil {
		return nil, modelgate.Errorf(modelgate.EINVALID, `no "outputs"`)
	}
	for i := range out.Outputs {
		out.Outputs[i].Data = Flatten(out.Outputs[i].Data, nil)
	}
	return &out, nil
}

// PredictionTensor returns the output named "predict", else the only
// output, else nil.
func PredictionTensor(outputs []Tensor) *Tensor {
	for i := range outputs {
		if outputs[i].Name == "predict" {
			return &outputs[i]
		}
	}
	if len(outputs) == 1 {
		return &outputs[0]
	}
	return nil
}

// Predictions returns the values of a decoded answer's PredictionTensor.
// EINVALID when there is none or its values are not all numbers.
func (r *V2Response) Predictions() ([]float64, error) {
	t := PredictionTensor(r.Outputs)
	if t == nil {
		return nil, modelgate.Errorf(modelgate.EINVALID, "%d outputs and none is named predict", len(r.Outputs))
	}
	vals, _ := t.Data.([]any)
	preds, ok := Numbers(vals)
	if !ok {
		return nil, modelgate.Errorf(modelgate.EINVALID, "output %q holds values that are not numbers", t.Name)
	}
	return preds, nil
}
