package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/wire"
)

// client calls a gateway over HTTP and translates its answers into
// *modelgate.Error.
type client struct {
	base string // without a trailing slash
	hc   *http.Client
}

func newClient(baseURL string, hc *http.Client) client {
	if hc == nil {
		hc = http.DefaultClient
	}
	return client{base: strings.TrimRight(baseURL, "/"), hc: hc}
}

// modelPath returns the admin path of model plus suffix.
func modelPath(model, suffix string) string {
	return adminPrefix + "/" + url.PathEscape(model) + suffix
}

// do sends in as JSON (when non-nil) and decodes a 2xx answer into out
// (when non-nil). Transport failures are EUNAVAILABLE; error answers become
// the *modelgate.Error they describe.
func (c client) do(ctx context.Context, method, path string, in, out any) error {
	resp, err := c.send(ctx, method, path, in)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return responseError(method, path, resp)
	}
	if out == nil {
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return modelgate.Errorf(modelgate.EINTERNAL, "decode gateway answer to %s %s: %v", method, path, err)
	}
	return nil
}

func (c client) send(ctx context.Context, method, path string, in any) (*http.Response, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, fmt.Errorf("encode %s %s: %w", method, path, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return nil, modelgate.Errorf(modelgate.EINVALID, "gateway URL %q: %v", c.base, err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, c.unreachable(ctx, err)
	}
	return resp, nil
}

// unreachable translates a transport failure; a cancelled ctx is returned
// as is.
func (c client) unreachable(ctx context.Context, err error) error {
	if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		return ctx.Err()
	}
	e := &modelgate.Error{
		Code:    modelgate.EUNAVAILABLE,
		Message: fmt.Sprintf("the local gateway at %s is unreachable: %v", c.base, err),
		Err:     err,
	}
	return e.WithHint("start it with `modelgate serve`")
}

// responseError reads an AdminError (or a data plane {"error"}) answer.
func responseError(method, path string, resp *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var ae AdminError
	if json.Unmarshal(b, &ae) == nil && ae.Code != "" && ae.Message != "" {
		return &modelgate.Error{Code: ae.Code, Message: ae.Message, Hint: ae.Hint}
	}
	var eb wire.ErrorBody
	msg := strings.TrimSpace(string(b))
	if json.Unmarshal(b, &eb) == nil && eb.Error != "" {
		msg = eb.Error
	}
	return modelgate.Errorf(statusCode(resp.StatusCode), "gateway answered %s %s with %s: %s",
		method, path, resp.Status, msg)
}
