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

	"modelgate"
)

// Client sends V1 predict requests.
type Client struct {
	HTTP *http.Client // default http.DefaultClient
}

// Result is one answered request.
type Result struct {
	Status      int
	Predictions []float64
	Version     string // the X-Model-Version header, when the server sends it
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
	body, err := json.Marshal(map[string]any{"instances": instances})
	if err != nil {
		return nil, fmt.Errorf("encode instances: %w", err)
	}
	return c.PredictRaw(ctx, ep, body)
}

// PredictRaw posts a ready-made V1 request body.
func (c Client) PredictRaw(ctx context.Context, ep modelgate.Endpoint, body []byte) (*Result, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, PredictURL(ep), bytes.NewReader(body))
	if err != nil {
		return nil, modelgate.Errorf(modelgate.EINVALID, "bad endpoint %q: %v", ep.URL, err)
	}
	req.Header.Set("Content-Type", "application/json")
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	start := time.Now()
	resp, err := hc.Do(req)
	if err != nil {
		return nil, &modelgate.Error{Code: modelgate.EUNAVAILABLE, Message: fmt.Sprintf("cannot reach %s: %v", PredictURL(ep), err), Err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	r := &Result{Status: resp.StatusCode, Version: resp.Header.Get("X-Model-Version"), Latency: time.Since(start), Body: b}
	if err != nil {
		return r, &modelgate.Error{Code: modelgate.EUNAVAILABLE, Message: "read answer: " + err.Error(), Err: err}
	}
	if resp.StatusCode == http.StatusOK {
		var out struct {
			Predictions []float64 `json:"predictions"`
		}
		if err := json.Unmarshal(b, &out); err != nil {
			return r, modelgate.Errorf(modelgate.EINVALID, "answer of %s is not a V1 predictions object: %v", PredictURL(ep), err)
		}
		r.Predictions = out.Predictions
	}
	return r, nil
}
