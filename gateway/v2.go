package gateway

import (
	"net/http"
	"slices"

	"github.com/modelgate/modelgate"
)

// Open Inference Protocol (V2) messages.
type (
	v2InferRequest struct {
		ID     string     `json:"id,omitempty"`
		Inputs []v2Tensor `json:"inputs"`
	}
	v2Tensor struct {
		Name     string  `json:"name"`
		Shape    []int64 `json:"shape"`
		Datatype string  `json:"datatype"`
		Data     any     `json:"data"` // nested or flat, row-major
	}
	v2InferResponse struct {
		ModelName    string     `json:"model_name"`
		ModelVersion string     `json:"model_version"`
		ID           string     `json:"id,omitempty"`
		Outputs      []v2Output `json:"outputs"`
	}
	v2Output struct {
		Name     string    `json:"name"`
		Datatype string    `json:"datatype"`
		Shape    []int64   `json:"shape"`
		Data     []float64 `json:"data"`
	}
	v2Metadata struct {
		Name     string         `json:"name"`
		Versions []string       `json:"versions"`
		Platform string         `json:"platform"`
		Inputs   []v2TensorMeta `json:"inputs"`
		Outputs  []v2TensorMeta `json:"outputs"`
	}
	v2TensorMeta struct {
		Name     string  `json:"name"`
		Datatype string  `json:"datatype"`
		Shape    []int64 `json:"shape"`
	}
)

// Platform is what V2 metadata names as the serving platform.
const Platform = "modelgate"

func (s *Server) handleLive(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]bool{"live": true})
}

func (s *Server) handleReady(w http.ResponseWriter, r *http.Request) {
	status := http.StatusOK
	if !s.ready.Load() {
		status = http.StatusServiceUnavailable
	}
	writeJSON(w, status, map[string]bool{"ready": s.ready.Load()})
}

// handleV2Metadata answers GET /v2/models/{name}.
func (s *Server) handleV2Metadata(e env) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		name := r.PathValue("name")
		rev, prod, ok := s.served(e, name)
		if !ok {
			writeDataError(w, http.StatusNotFound, notServed(e, name))
			return
		}
		md := v2Metadata{
			Name:     name,
			Versions: []string{rev.dep.Version},
			Platform: Platform,
			Outputs:  []v2TensorMeta{{Name: "predict", Datatype: "FP64", Shape: []int64{-1}}},
		}
		if prod != nil && prod.canary != nil {
			md.Versions = append(md.Versions, prod.canary.dep.Version)
		}
		for _, f := range rev.features {
			md.Inputs = append(md.Inputs, v2TensorMeta{Name: f, Datatype: "FP64", Shape: []int64{-1}})
		}
		w.Header().Set(HeaderModelVersion, rev.dep.Version)
		writeJSON(w, http.StatusOK, md)
	}
}

// handleV2ModelReady answers GET /v2/models/{name}/ready.
func (s *Server) handleV2ModelReady(e env) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		name := r.PathValue("name")
		rev, _, ok := s.served(e, name)
		if !ok {
			writeDataError(w, http.StatusNotFound, notServed(e, name))
			return
		}
		w.Header().Set(HeaderModelVersion, rev.dep.Version)
		writeJSON(w, http.StatusOK, v1ModelResponse{Name: name, Ready: true})
	}
}

// handleV2Infer answers POST /v2/models/{name}/infer.
func (s *Server) handleV2Infer(e env) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		name := r.PathValue("name")
		s.predictHandler(e, name, w, r, func(t target, r *http.Request) answer {
			return v2Infer(name, t, w, r)
		})
	}
}

func v2Infer(name string, t target, w http.ResponseWriter, r *http.Request) answer {
	var req v2InferRequest
	if err := decodeBody(w, r, &req); err != nil {
		return failed(err)
	}
	instances, err := v2Instances(req.Inputs, t.rev.features)
	if err != nil {
		return failed(err)
	}
	rows, preds, err := infer(r.Context(), t.rev.model, instances)
	if err != nil {
		return failed(err)
	}
	body := v2InferResponse{
		ModelName:    name,
		ModelVersion: t.rev.dep.Version,
		ID:           req.ID,
		Outputs: []v2Output{{
			Name: "predict", Datatype: "FP64", Shape: []int64{int64(len(preds))}, Data: preds,
		}},
	}
	return answer{status: http.StatusOK, body: body, rows: rows, preds: preds}
}

// v2Instances turns V2 input tensors into instances: a single numeric
// [N, F] tensor gives N rows of feature values; otherwise each tensor is one
// feature or raw field of shape [N] or [N, 1], giving N map instances.
func v2Instances(inputs []v2Tensor, features []string) ([]any, error) {
	if len(inputs) == 0 {
		return nil, modelgate.Errorf(modelgate.EINVALID, `request has no "inputs"`)
	}
	if isMatrix(inputs, features) {
		return matrixInstances(inputs[0])
	}
	return fieldInstances(inputs)
}

// isMatrix reports whether inputs are one 2-D tensor of feature values
// rather than one feature of shape [N, 1].
func isMatrix(inputs []v2Tensor, features []string) bool {
	if len(inputs) != 1 || len(inputs[0].Shape) != 2 {
		return false
	}
	t := inputs[0]
	if kind, ok := datatypeKind(t.Datatype); !ok || kind != kindNumber {
		return false
	}
	return t.Shape[1] != 1 || !slices.Contains(features, t.Name)
}
