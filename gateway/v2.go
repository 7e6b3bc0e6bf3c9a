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

// v2Metadata answers GET /v2/models/{name}: the served version (and the
// canary's), one FP64 input per feature and the "predict" output.
func v2Metadata(name string, rev *revision, prod *production) any {
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
	return md
}

// handleV2Infer answers POST /v2/models/{name}/infer.
func (s *Server) handleV2Infer(e env) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		name := r.PathValue("name")
		s.predictHandler(e, name, w, r, s.readV2(name))
	}
}

// readV2 reads a V2 request to model name (wire.Instances); the answer has
// one output, "predict". A tensor whose shape holds more rows than
// MaxInstances is refused before its values become instances.
func (s *Server) readV2(name string) reader {
	return func(w http.ResponseWriter, r *http.Request, t target) ([]any, replier, error) {
		var req wire.V2Request
		if err := decodeBody(w, r, &req, s.opts.MaxBodyBytes); err != nil {
			return nil, nil, err
		}
		for _, in := range req.Inputs {
			if len(in.Shape) > 0 && in.Shape[0] > int64(s.opts.MaxInstances) {
				return nil, nil, tooManyInstances(s.opts.MaxInstances)
			}
		}
		instances, err := wire.Instances(req.Inputs, t.rev.features)
		return instances, func(preds []float64) any {
			return wire.V2Response{ModelName: name, ModelVersion: t.rev.dep.Version, ID: req.ID,
				Outputs: []wire.Tensor{wire.PredictOutput(preds)}}
		}, err
	}
}
