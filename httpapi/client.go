package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/modelgate/modelgate"
)

var _ modelgate.PromotionService = (*Client)(nil)

// Client calls a modelgate server's API; it implements
// modelgate.PromotionService, so a command works the same through it as in
// process. The server names the caller by Token: the actor in a context is
// not sent.
type Client struct {
	URL   string // the server's base URL, e.g. http://127.0.0.1:8095
	Token string // a bearer token from the server's tokens
	// HTTP sends the requests; default a client without a timeout (event
	// streams last as long as a promotion); each other call is bounded by
	// CallTimeout (default 30s).
	HTTP        *http.Client
	CallTimeout time.Duration
	// Reconnect is how long FollowPromotion keeps reconnecting to a stream
	// that broke (the server restarted, the network dropped); default 2m.
	Reconnect time.Duration
	// OnReconnect, when set, is told of each broken stream before the retry.
	OnReconnect func(err error)
}

// NewClient returns a client of the server at baseURL, with token.
func NewClient(baseURL, token string) *Client {
	return &Client{URL: strings.TrimRight(baseURL, "/"), Token: token, HTTP: &http.Client{}, CallTimeout: 30 * time.Second, Reconnect: 2 * time.Minute}
}

// do sends one call with a JSON body (nil: none) and decodes the answer
// into out (nil: discard); an error answer becomes a *modelgate.Error.
func (c *Client) do(ctx context.Context, method, path string, body, out any) error {
	ctx, cancel := context.WithTimeout(ctx, c.callTimeout())
	defer cancel()
	resp, err := c.send(ctx, method, path, body, nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return modelgate.Errorf(modelgate.EUNAVAILABLE, "read the answer of %s %s: %v", method, path, err)
	}
	return nil
}

// send sends a request and returns a successful response.
func (c *Client) send(ctx context.Context, method, path string, body any, header http.Header) (*http.Response, error) {
	var rd *bytes.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	} else {
		rd = bytes.NewReader(nil)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.URL+path, rd)
	if err != nil {
		return nil, modelgate.Errorf(modelgate.EINVALID, "server URL %q: %v", c.URL, err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json")
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	resp, err := c.client().Do(req)
	if err != nil {
		return nil, &modelgate.Error{Code: modelgate.EUNAVAILABLE, Message: fmt.Sprintf("cannot reach the modelgate server at %s: %v", c.URL, err), Err: err}
	}
	if resp.StatusCode >= 300 {
		defer resp.Body.Close()
		return nil, readError(resp)
	}
	return resp, nil
}

func (c *Client) client() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return http.DefaultClient
}

func (c *Client) callTimeout() time.Duration {
	if c.CallTimeout > 0 {
		return c.CallTimeout
	}
	return 30 * time.Second
}

func modelPath(model, rest string) string {
	return "/api/v1/models/" + url.PathEscape(model) + rest
}

// StartPromotion asks the server to start model/version's promotion.
func (c *Client) StartPromotion(ctx context.Context, model, version string) (*modelgate.Promotion, error) {
	var out promotionResponse
	err := c.do(ctx, http.MethodPost, "/api/v1/promotions", startRequest{Model: model, Version: version}, &out)
	return out.Promotion, err
}

// ResumePromotion asks the server to resume model's unfinished promotion.
func (c *Client) ResumePromotion(ctx context.Context, model string) (*modelgate.Promotion, error) {
	var out promotionResponse
	err := c.do(ctx, http.MethodPost, modelPath(model, "/resume"), struct{}{}, &out)
	return out.Promotion, err
}

// AcceptPromotion asks the server to promote model's held promotion.
func (c *Client) AcceptPromotion(ctx context.Context, model, reason string) (*modelgate.Promotion, error) {
	var out promotionResponse
	err := c.do(ctx, http.MethodPost, modelPath(model, "/accept"), reasonRequest{Reason: reason}, &out)
	return out.Promotion, err
}

// AbortPromotion asks the server to end model's unfinished promotion.
func (c *Client) AbortPromotion(ctx context.Context, model, reason string) (*modelgate.Promotion, error) {
	var out promotionResponse
	err := c.do(ctx, http.MethodPost, modelPath(model, "/abort"), reasonRequest{Reason: reason}, &out)
	return out.Promotion, err
}

// Promotions lists a model's promotions ("" for all).
func (c *Client) Promotions(ctx context.Context, model string) ([]*modelgate.Promotion, error) {
	var out promotionsResponse
	err := c.do(ctx, http.MethodGet, "/api/v1/promotions?model="+url.QueryEscape(model), nil, &out)
	return out.Promotions, err
}

// Promotion returns one promotion and its step records.
func (c *Client) Promotion(ctx context.Context, id string) (*modelgate.Promotion, []*modelgate.StepRecord, error) {
	var out promotionResponse
	err := c.do(ctx, http.MethodGet, "/api/v1/promotions/"+url.PathEscape(id), nil, &out)
	return out.Promotion, out.Steps, err
}

// Approve records the token holder's approval; a.By may only be their own
// name (the server fills it in).
func (c *Client) Approve(ctx context.Context, a *modelgate.Approval) error {
	var out approvalResponse
	if err := c.do(ctx, http.MethodPost, modelPath(a.Model, "/approvals"), approvalRequest{Version: a.Version, Role: a.Role, By: a.By}, &out); err != nil {
		return err
	}
	*a = *out.Approval
	return nil
}

// ModelStatus returns the server's view of a model.
func (c *Client) ModelStatus(ctx context.Context, model string) (*modelgate.ModelStatus, error) {
	var out statusResponse
	err := c.do(ctx, http.MethodGet, modelPath(model, "/status"), nil, &out)
	return out.Status, err
}

// VerifyAudit asks the server to check its audit trail and returns its
// answer as JSON.
func (c *Client) VerifyAudit(ctx context.Context) (json.RawMessage, error) {
	var out json.RawMessage
	err := c.do(ctx, http.MethodGet, "/api/v1/audit/verify", nil, &out)
	return out, err
}
