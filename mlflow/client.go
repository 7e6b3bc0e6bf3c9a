package mlflow

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/modelgate/modelgate"
)

// Stats counts the registry calls a Registry made and the wall time spent in
// them, retries and backoff included.
type Stats struct {
	Calls    int64         `json:"calls"`    // logical calls (one per REST request, however often retried)
	Attempts int64         `json:"attempts"` // HTTP requests sent
	Retries  int64         `json:"retries"`  // attempts after a transient failure
	Time     time.Duration `json:"time"`     // wall time inside calls
}

// client is the HTTP transport: URLs, auth, per-attempt timeouts, retries
// and the translation of failures into *modelgate.Error.
type client struct {
	base    *url.URL
	http    *http.Client
	auth    string
	headers map[string]string
	timeout time.Duration
	retries int
	backoff time.Duration
	logger  *slog.Logger

	calls, attempts, retried, nanos atomic.Int64
}

func newClient(o Options) (*client, error) {
	base, err := o.baseURL()
	if err != nil {
		return nil, err
	}
	hc, err := o.httpClient()
	if err != nil {
		return nil, err
	}
	logger := o.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &client{base: base, http: hc, auth: o.authHeader(), headers: o.Headers,
		timeout: o.Timeout, retries: o.Retries, backoff: o.Backoff, logger: logger}, nil
}

func (c *client) stats() Stats {
	return Stats{Calls: c.calls.Load(), Attempts: c.attempts.Load(), Retries: c.retried.Load(), Time: time.Duration(c.nanos.Load())}
}

// apiURL returns base + /api/2.0/<api>/<path> with query.
func (c *client) apiURL(api, path string, q url.Values) string {
	u := *c.base
	u.Path = u.Path + "/api/2.0/" + api + "/" + path
	u.RawQuery = q.Encode()
	return u.String()
}

// request is one REST call.
type request struct {
	method     string
	api        string // "mlflow" or "mlflow-artifacts"
	path       string
	query      url.Values
	body       any    // JSON-encoded when non-nil
	raw        []byte // sent as application/octet-stream when non-nil (uploads)
	idempotent bool   // safe to repeat after any transient failure
	slow       bool   // a file transfer: ten times the timeout
}

// callJSON sends r and decodes a 2xx JSON answer into out (when non-nil).
func (c *client) callJSON(ctx context.Context, r request, out any) error {
	return c.call(ctx, r, func(resp *http.Response) error {
		if out == nil {
			_, err := io.Copy(io.Discard, resp.Body)
			return err
		}
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			return err
		}
		if err := json.Unmarshal(b, out); err != nil {
			return &modelgate.Error{Code: modelgate.EUNAVAILABLE, Err: err,
				Message: fmt.Sprintf("MLflow answered %s %s with a malformed body (%v): %s", r.method, r.path, err, snippet(b))}
		}
		return nil
	})
}

// call sends r, retrying transient failures, and hands a 2xx response to
// handle. An error from handle that is not a *modelgate.Error (a broken
// stream) counts as transient.
func (c *client) call(ctx context.Context, r request, handle func(*http.Response) error) error {
	start := time.Now()
	c.calls.Add(1)
	defer func() { c.nanos.Add(int64(time.Since(start))) }()
	var body []byte
	if r.body != nil {
		b, err := json.Marshal(r.body)
		if err != nil {
			return fmt.Errorf("encode %s request: %w", r.path, err)
		}
		body = b
	}
	wait := c.backoff
	for attempt := 0; ; attempt++ {
		err, retry := c.attempt(ctx, r, body, handle)
		if err == nil {
			return nil
		}
		if !retry || attempt >= c.retries || ctx.Err() != nil {
			return err
		}
		c.retried.Add(1)
		d := wait/2 + rand.N(wait) // jitter in [wait/2, 3wait/2)
		c.logger.Warn(fmt.Sprintf("MLflow did not answer %s %s (attempt %d of %d, each up to %s): %s; retrying in %s",
			r.method, r.path, attempt+1, c.retries+1, c.timeout, modelgate.ErrorMessage(err), d.Round(10*time.Millisecond)))
		wait = min(2*wait, 5*time.Second)
		select {
		case <-ctx.Done():
			return err
		case <-time.After(d):
		}
	}
}

// attempt sends r once. It reports whether the failure is worth a retry.
func (c *client) attempt(ctx context.Context, r request, body []byte, handle func(*http.Response) error) (error, bool) {
	c.attempts.Add(1)
	timeout := c.timeout
	if r.slow {
		timeout *= 10
	}
	actx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := c.newRequest(actx, r, body)
	if err != nil {
		return err, false
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil { // the caller gave up: not MLflow's failure
			return ctx.Err(), false
		}
		var cert *tls.CertificateVerificationError
		if errors.As(err, &cert) { // repeating cannot help
			return c.unreachable(r, err), false
		}
		return c.unreachable(r, err), r.idempotent || isDialError(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		return c.apiError(r, resp, b), r.idempotent && transientStatus(resp.StatusCode)
	}
	if err := handle(resp); err != nil {
		if ctx.Err() != nil {
			return ctx.Err(), false
		}
		var me *modelgate.Error
		if errors.As(err, &me) {
			return err, r.idempotent && me.Code == modelgate.EUNAVAILABLE
		}
		return c.unreachable(r, err), r.idempotent
	}
	return nil, false
}

func (c *client) newRequest(ctx context.Context, r request, body []byte) (*http.Request, error) {
	var rd io.Reader
	switch {
	case r.raw != nil:
		rd = bytes.NewReader(r.raw)
	case body != nil:
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, c.apiURL(r.api, r.path, r.query), rd)
	if err != nil {
		return nil, fmt.Errorf("build %s request: %w", r.path, err)
	}
	switch {
	case r.raw != nil:
		req.Header.Set("Content-Type", "application/octet-stream")
	case body != nil:
		req.Header.Set("Content-Type", "application/json")
	}
	if c.auth != "" {
		req.Header.Set("Authorization", c.auth)
	}
	for k, v := range c.headers {
		req.Header.Set(k, v)
	}
	req.Header.Set("User-Agent", "modelgate")
	return req, nil
}

func (c *client) unreachable(r request, err error) error {
	return &modelgate.Error{Code: modelgate.EUNAVAILABLE, Err: err,
		Message: fmt.Sprintf("cannot reach MLflow at %s (%s %s): %v", c.base.Redacted(), r.method, r.path, err),
		Hint:    "check registry.uri (or MLFLOW_TRACKING_URI) and that the server is up; the promotion can be resumed"}
}

// isDialError reports a connection that was never made, so even a
// non-idempotent request was not received.
func isDialError(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

func transientStatus(status int) bool {
	return status == http.StatusTooManyRequests || status >= 500 && status != http.StatusNotImplemented
}

// APIError is a non-2xx answer from MLflow, kept as the cause of the
// *modelgate.Error a call returns.
type APIError struct {
	Method, Path string
	Status       int
	Code         string // MLflow's error_code; "" when the body was not MLflow JSON
	Message      string // MLflow's message, or the start of the body
}

func (e *APIError) Error() string {
	if e.Code != "" {
		return fmt.Sprintf("%s %s: %d %s: %s", e.Method, e.Path, e.Status, e.Code, e.Message)
	}
	return fmt.Sprintf("%s %s: %d: %s", e.Method, e.Path, e.Status, e.Message)
}

// apiError translates an error answer into a *modelgate.Error whose message
// is MLflow's own.
func (c *client) apiError(r request, resp *http.Response, body []byte) error {
	ae := &APIError{Method: r.method, Path: r.path, Status: resp.StatusCode}
	var e struct {
		Code    string `json:"error_code"`
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &e) == nil && e.Code != "" {
		ae.Code, ae.Message = e.Code, e.Message
	} else {
		ae.Message = snippet(body)
	}
	code := errorCode(ae)
	msg := ae.Message
	if ae.Code == "" || msg == "" {
		msg = fmt.Sprintf("MLflow answered %s %s with %s: %s", r.method, r.path, resp.Status, ae.Message)
	}
	me := &modelgate.Error{Code: code, Message: msg, Err: ae}
	switch code {
	case modelgate.EUNAUTHORIZED:
		me.Hint = "check MLFLOW_TRACKING_USERNAME/MLFLOW_TRACKING_PASSWORD or MLFLOW_TRACKING_TOKEN"
	case modelgate.EUNAVAILABLE:
		me.Hint = "MLflow is failing or overloaded; the promotion can be resumed"
	}
	return me
}

// errorCode maps MLflow's error_code (or the HTTP status without one) to
// modelgate's codes. A missing alias is INVALID_PARAMETER_VALUE in MLflow;
// it is ENOTFOUND here, as for every other missing thing.
func errorCode(e *APIError) string {
	switch e.Code {
	case "RESOURCE_DOES_NOT_EXIST", "NOT_FOUND", "ENDPOINT_NOT_FOUND":
		return modelgate.ENOTFOUND
	case "INVALID_PARAMETER_VALUE", "BAD_REQUEST", "MALFORMED_REQUEST", "INVALID_STATE":
		if strings.HasPrefix(e.Message, "Registered model alias ") && strings.HasSuffix(e.Message, " not found.") {
			return modelgate.ENOTFOUND
		}
		return modelgate.EINVALID
	case "RESOURCE_ALREADY_EXISTS", "ALREADY_EXISTS", "RESOURCE_CONFLICT", "ABORTED":
		return modelgate.ECONFLICT
	case "UNAUTHENTICATED", "PERMISSION_DENIED", "CUSTOMER_UNAUTHORIZED":
		return modelgate.EUNAUTHORIZED
	case "TEMPORARILY_UNAVAILABLE", "DEADLINE_EXCEEDED", "REQUEST_LIMIT_EXCEEDED", "RESOURCE_EXHAUSTED":
		return modelgate.EUNAVAILABLE
	}
	switch s := e.Status; {
	case s == 401 || s == 403:
		return modelgate.EUNAUTHORIZED
	case s == 404:
		return modelgate.ENOTFOUND
	case s == 409:
		return modelgate.ECONFLICT
	case s == 429 || s == 502 || s == 503 || s == 504:
		return modelgate.EUNAVAILABLE
	case s >= 400 && s < 500:
		return modelgate.EINVALID
	}
	return modelgate.EINTERNAL
}

func snippet(b []byte) string {
	s := strings.Join(strings.Fields(string(b)), " ")
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	if s == "" {
		s = "(empty body)"
	}
	return s
}
