package gateway

import (
	"net/http"

	"github.com/modelgate/modelgate/wire"
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
		md := wire.V2Metadata{
			Name:     name,
			Versions: []string{rev.dep.Version},
			Platform: Platform,
			Outputs:  []wire.TensorMeta{{Name: "predict", Datatype: "FP64", Shape: []int64{-1}}},
		}
		if prod != nil && prod.canary != nil {
			md.Versions = append(md.Versions, prod.canary.dep.Version)
		}
		for _, f := range rev.features {
			md.Inputs = append(md.Inputs, wire.TensorMeta{Name: f, Datatype: "FP64", Shape: []int64{-1}})
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
		writeJSON(w, http.StatusOK, wire.ModelReady{Name: name, Ready: true})
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
	var req wire.V2Request
	if err := decodeBody(w, r, &req); err != nil {
		return failed(err)
	}
	instances, err := wire.Instances(req.Inputs, t.rev.features)
	if err != nil {
		return failed(err)
	}
	rows, preds, err := infer(r.Context(), t.rev.model, instances)
	if err != nil {
		return failed(err)
	}
	body := wire.V2Response{
		ModelName:    name,
		ModelVersion: t.rev.dep.Version,
		ID:           req.ID,
		Outputs:      []wire.Tensor{wire.PredictOutput(preds)},
	}
	return answer{status: http.StatusOK, body: body, rows: rows, preds: preds}
}
