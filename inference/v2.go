package inference

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/wire"
)

// V2Result is one answered V2 request. For a 200 answer Outputs holds the
// decoded output tensors (wire.DecodeV2Response); Predictions the values of
// the output named "predict" (or of the only output), flattened, when they
// are all numbers.
type V2Result struct {
	Status       int
	ModelName    string
	ModelVersion string // model_version of the answer, else the X-Model-Version header
	Outputs      []wire.Tensor
	Predictions  []float64
	Latency      time.Duration
	Body         []byte
}

// InferURL returns the V2 infer URL of an endpoint.
func InferURL(ep modelgate.Endpoint) string {
	return strings.TrimRight(ep.URL, "/") + "/v2/models/" + url.PathEscape(ep.Name) + "/infer"
}

// Infer posts a V2 request and decodes the answer. A non-200 answer is
// returned in V2Result with a nil error; transport failures are
// EUNAVAILABLE; a 200 answer that is not a V2 response is EINVALID, with the
// result.
func (c Client) Infer(ctx context.Context, ep modelgate.Endpoint, req wire.V2Request) (*V2Result, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("encode V2 request: %w", err)
	}
	return c.InferRaw(ctx, ep, body)
}

// InferRaw posts a ready-made V2 request body.
func (c Client) InferRaw(ctx context.Context, ep modelgate.Endpoint, body []byte) (*V2Result, error) {
	u := InferURL(ep)
	status, header, b, latency, err := c.post(ctx, u, body)
	if err != nil {
		return nil, err
	}
	r := &V2Result{Status: status, ModelVersion: header.Get("X-Model-Version"), Latency: latency, Body: b}
	if status != http.StatusOK {
		return r, nil
	}
	out, err := wire.DecodeV2Response(b)
	if err != nil {
		return r, answerError(u, err)
	}
	r.ModelName, r.Outputs = out.ModelName, out.Outputs
	if out.ModelVersion != "" {
		r.ModelVersion = out.ModelVersion
	}
	r.Predictions, _ = out.Predictions() // nil when they are not numbers; the caller checks the outputs
	return r, nil
}

// Metadata returns the endpoint's V2 model metadata. ENOTFOUND when the
// server answers 404 (it may not speak V2), EUNAVAILABLE when unreachable.
func (c Client) Metadata(ctx context.Context, ep modelgate.Endpoint) (*wire.V2Metadata, error) {
	u := strings.TrimRight(ep.URL, "/") + "/v2/models/" + url.PathEscape(ep.Name)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, modelgate.Errorf(modelgate.EINVALID, "bad endpoint %q: %v", ep.URL, err)
	}
	resp, err := c.httpClient().Do(req)
	if err != nil {
		return nil, &modelgate.Error{Code: modelgate.EUNAVAILABLE, Message: fmt.Sprintf("cannot reach %s: %v", u, err), Err: err}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return nil, modelgate.Errorf(modelgate.ENOTFOUND, "%s answered 404: %.200s", u, b)
	case resp.StatusCode != http.StatusOK:
		return nil, modelgate.Errorf(modelgate.EUNAVAILABLE, "%s answered %d: %.200s", u, resp.StatusCode, b)
	}
	var md wire.V2Metadata
	if err := json.Unmarshal(b, &md); err != nil {
		return nil, modelgate.Errorf(modelgate.EINVALID, "answer of %s is not V2 model metadata: %v", u, err)
	}
	return &md, nil
}
