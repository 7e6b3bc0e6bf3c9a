package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/wire"
)

// Endpoints says where a gateway answers: its data plane and its admin
// API, and how to authenticate to the latter.
type Endpoints struct {
	// URL is the data plane's base URL, e.g. "http://127.0.0.1:8080".
	URL string
	// AdminURL is the admin API's base URL, e.g. "http://127.0.0.1:8081",
	// or "unix:///path/to/admin.sock" for a unix socket (AdminURLFor).
	// "" means URL: a gateway serving Handler, both on one listener.
	AdminURL string
	// AdminToken is sent as "Authorization: Bearer <token>"; "" sends none
	// unless AdminTokenFile gives one.
	AdminToken string
	// AdminTokenFile holds the token when AdminToken is "". It is read at
	// every admin call, so a gateway started after the client (and writing
	// the file then) is found; a missing file sends no token.
	AdminTokenFile string
	// Client sends the requests; nil means http.DefaultClient. Its Timeout
	// also bounds calls over an admin unix socket.
	Client *http.Client
}

// AdminURLFor returns the admin URL of a gateway whose admin API listens
// on listen: "host:port", or a unix socket path (anything holding a "/").
func AdminURLFor(listen string) string {
	if strings.Contains(listen, "/") {
		return "unix://" + listen
	}
	return "http://" + listen
}

// client calls a gateway over HTTP and translates its answers into
// *modelgate.Error.
type client struct {
	base      string // without a trailing slash
	display   string // what messages call the gateway: base, or the socket
	hc        *http.Client
	token     string // bearer token; "" reads tokenFile
	tokenFile string
}

func newClient(baseURL string, hc *http.Client) client {
	if hc == nil {
		hc = http.DefaultClient
	}
	base := strings.TrimRight(baseURL, "/")
	return client{base: base, display: base, hc: hc}
}

// newAdminClient returns the client of ep's admin API.
func newAdminClient(ep Endpoints) client {
	u := ep.AdminURL
	if u == "" {
		u = ep.URL
	}
	c := newClient(u, ep.Client)
	if path, ok := strings.CutPrefix(u, "unix://"); ok {
		c.base, c.display = "http://unix", "unix:"+path
		c.hc = &http.Client{Timeout: c.hc.Timeout, Transport: &http.Transport{
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				var d net.Dialer
				return d.DialContext(ctx, "unix", path)
			},
		}}
	}
	c.token, c.tokenFile = ep.AdminToken, ep.AdminTokenFile
	return c
}

// bearer returns the token to send and, when there is none, why.
func (c client) bearer() (token, missing string) {
	if c.token != "" || c.tokenFile == "" {
		return c.token, ""
	}
	b, err := os.ReadFile(c.tokenFile)
	if t := strings.TrimSpace(string(b)); err == nil && t != "" {
		return t, ""
	}
	return "", fmt.Sprintf("no admin token was sent: %s holds none", c.tokenFile)
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
	if resp.StatusCode == http.StatusUnauthorized {
		return c.unauthorized(method, path, resp)
	}
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
		return nil, modelgate.Errorf(modelgate.EINVALID, "gateway URL %q: %v", c.display, err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token, _ := c.bearer(); token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
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
		Message: fmt.Sprintf("the local gateway at %s is unreachable: %v", c.display, err),
		Err:     err,
	}
	return e.WithHint("start it with `modelgate serve`")
}

// unauthorized reads a 401 answer, adding why no token was sent.
func (c client) unauthorized(method, path string, resp *http.Response) error {
	err := responseError(method, path, resp)
	var e *modelgate.Error
	if _, missing := c.bearer(); missing != "" && errors.As(err, &e) {
		e.Message += " (" + missing + ")"
	}
	return err
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
