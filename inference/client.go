package inference

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/wire"
)

// Client sends V1 predict requests (Predict, PredictRaw) and V2 infer
// requests (Infer, InferRaw, Metadata).
type Client struct {
	HTTP *http.Client // default http.DefaultClient
}

// Result is one answered request.
type Result struct {
	Status      int
	Predictions []float64 // NaN/±Inf where the answer held null, NaN or Infinity
	Version     string    // the X-Model-Version header, when the server sends it
	Latency     time.Duration
	Body        []byte
}

// PredictURL returns the V1 predict URL of an endpoint.
func PredictURL(ep modelgate.Endpoint) string {
	return strings.TrimRight(ep.URL, "/") + "/v1/models/" + ep.Name + ":predict"
}

// Predict posts {"instances": instances} and decodes the predictions. A non-200
// answer is returned in Result with a nil error; transport failures are
// EUNAVAILABLE.
func (c Client) Predict(ctx context.Context, ep modelgate.Endpoint, instances []any) (*Result, error) {
	body, err := json.Marshal(wire.V1Request{Instances: instances})
	if err != nil {
		return nil, fmt.Errorf("encode instances: %w", err)
	}
	return c.PredictRaw(ctx, ep, body)
}

// PredictRaw posts a ready-made V1 request body. A 200 answer that is not
// one number per prediction (wire.DecodeV1Predictions) is EINVALID, with
// the result.
func (c Client) PredictRaw(ctx context.Context, ep modelgate.Endpoint, body []byte) (*Result, error) {
	status, header, b, latency, err := c.post(ctx, PredictURL(ep), body)
	if err != nil {
		return nil, err
	}
	r := &Result{Status: status, Version: header.Get("X-Model-Version"), Latency: latency, Body: b}
	if status != http.StatusOK {
		return r, nil
	}
	if r.Predictions, err = wire.DecodeV1Predictions(b); err != nil {
		return r, answerError(PredictURL(ep), err)
	}
	return r, nil
}

// answerError is EINVALID: the answer of u does not decode.
func answerError(u string, err error) error {
	return &modelgate.Error{Code: modelgate.EINVALID, Message: "answer of " + u + ": " + modelgate.ErrorMessage(err), Err: err}
}

// post sends body as JSON to u and reads the whole answer. Transport
// failures are EUNAVAILABLE.
func (c Client) post(ctx context.Context, u string, body []byte) (int, http.Header, []byte, time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return 0, nil, nil, 0, modelgate.Errorf(modelgate.EINVALID, "bad endpoint %q: %v", u, err)
	}
	req.Header.Set("Content-Type", "application/json")
	start := time.Now()
	resp, err := c.httpClient().Do(req)
	if err != nil {
		return 0, nil, nil, 0, &modelgate.Error{Code: modelgate.EUNAVAILABLE, Message: fmt.Sprintf("cannot reach %s: %v", u, err), Err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	latency := time.Since(start)
	if err != nil {
		return 0, nil, nil, 0, &modelgate.Error{Code: modelgate.EUNAVAILABLE, Message: "read answer of " + u + ": " + err.Error(), Err: err}
	}
	return resp.StatusCode, resp.Header, b, latency, nil
}

func (c Client) httpClient() *http.Client {
	if c.HTTP == nil {
		return http.DefaultClient
	}
	return c.HTTP
}
