package gateway

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"

	"github.com/modelgate/modelgate"
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
		s.predictHandler(e, rest[:i], w, r, s.readV1)
	}
}

// readV1 reads a V1 request: its "instances" (or "inputs"); the answer is
// {"predictions": [...]}.
func (s *Server) readV1(w http.ResponseWriter, r *http.Request, t target) ([]any, replier, error) {
	instances, err := readV1Body(w, r, &s.bufs, s.opts.MaxBodyBytes, s.opts.MaxInstances, t.rev.fields)
	return instances, replyV1, err
}

// replyV1 answers {"predictions": [...]}.
func replyV1(preds []float64) any { return v1Predictions(preds) }

// decodeV1 decodes a V1 request as a stream, instance by instance, so a
// request beyond maxInstances is refused as soon as one instance too many
// is read, without decoding (or holding) the rest. Other members are read
// and ignored. KServe's precedence holds: "instances", else "inputs".
func decodeV1(dec *json.Decoder, maxInstances int) ([]any, error) {
	if err := expectDelim(dec, '{', "request body is not a JSON object"); err != nil {
		return nil, err
	}
	var found [2][]any // "instances", "inputs"; nil when absent or null
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return nil, midBodyError(err)
		}
		k, _ := key.(string)
		switch {
		case strings.EqualFold(k, "instances"):
			found[0], err = decodeInstances(dec, k, maxInstances)
		case strings.EqualFold(k, "inputs"):
			found[1], err = decodeInstances(dec, k, maxInstances)
		default:
			err = dec.Decode(&json.RawMessage{})
		}
		if err != nil {
			return nil, midBodyError(err)
		}
	}
	if err := endOfBody(dec); err != nil {
		return nil, err
	}
	return wire.V1Request{Instances: found[0], Inputs: found[1]}.InstancesOrInputs()
}

// decodeInstances decodes the array of member key one instance at a time;
// nil for null.
func decodeInstances(dec *json.Decoder, key string, max int) ([]any, error) {
	tok, err := dec.Token()
	if err != nil || tok == nil {
		return nil, err
	}
	if tok != json.Delim('[') {
		return nil, modelgate.Errorf(modelgate.EINVALID, "%q must be an array of instances", key)
	}
	out := []any{}
	for dec.More() {
		if len(out) == max {
			return nil, tooManyInstances(max)
		}
		var v any
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	_, err = dec.Token() // ']'
	return out, err
}

// expectDelim reads the next token, which must be d.
func expectDelim(dec *json.Decoder, d json.Delim, msg string) error {
	tok, err := dec.Token()
	if err != nil {
		return bodyError(err)
	}
	if tok != d {
		return modelgate.Errorf(modelgate.EINVALID, "%s", msg)
	}
	return nil
}

// endOfBody reads the closing '}' and checks nothing follows it.
func endOfBody(dec *json.Decoder) error {
	if _, err := dec.Token(); err != nil {
		return midBodyError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return modelgate.Errorf(modelgate.EINVALID, "request body holds more than one JSON value")
	}
	return nil
}

// midBodyError is bodyError for a body that has started: its end is an
// unexpected one.
func midBodyError(err error) error {
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return bodyError(err)
}

// modelReady answers GET /v1/models/{name} and GET /v2/models/{name}/ready.
func modelReady(name string, _ *revision, _ *production) any {
	return wire.ModelReady{Name: name, Ready: true}
}
