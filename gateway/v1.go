package gateway

import (
	"net/http"
	"strings"

	"github.com/modelgate/modelgate/wire"
)

// handleV1Model answers GET /v1/models/{name}.
func (s *Server) handleV1Model(e env) http.HandlerFunc {
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

// handleV1Predict answers POST /v1/models/{name}:predict. ServeMux cannot
// match "{name}:predict", so the segment is split here.
func (s *Server) handleV1Predict(e env) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		rest := r.PathValue("rest")
		i := strings.LastIndexByte(rest, ':')
		if i < 0 || rest[i+1:] != "predict" {
			writeDataError(w, http.StatusNotFound, "no route for "+r.Method+" "+r.URL.Path)
			return
		}
		s.predictHandler(e, rest[:i], w, r, func(t target, r *http.Request) answer {
			return v1Predict(t, w, r)
		})
	}
}

func v1Predict(t target, w http.ResponseWriter, r *http.Request) answer {
	var req wire.V1Request
	if err := decodeBody(w, r, &req); err != nil {
		return failed(err)
	}
	instances, err := req.InstancesOrInputs()
	if err != nil {
		return failed(err)
	}
	rows, preds, err := infer(r.Context(), t.rev.model, instances)
	if err != nil {
		return failed(err)
	}
	return answer{status: http.StatusOK, body: wire.V1Response{Predictions: preds}, rows: rows, preds: preds}
}
