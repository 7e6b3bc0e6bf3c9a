package gateway

import (
	"net/http"
	"strings"

	"github.com/modelgate/modelgate/wire"
)

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
		s.predictHandler(e, rest[:i], w, r, readV1)
	}
}

// readV1 reads a V1 request: its "instances" (or "inputs"); the answer is
// {"predictions": [...]}.
func readV1(w http.ResponseWriter, r *http.Request, _ target) ([]any, replier, error) {
	var req wire.V1Request
	if err := decodeBody(w, r, &req); err != nil {
		return nil, nil, err
	}
	instances, err := req.InstancesOrInputs()
	return instances, func(preds []float64) any { return wire.V1Response{Predictions: preds} }, err
}

// modelReady answers GET /v1/models/{name} and GET /v2/models/{name}/ready.
func modelReady(name string, _ *revision, _ *production) any {
	return wire.ModelReady{Name: name, Ready: true}
}
