package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/modelgate/modelgate"
)

// Default limits of the data plane (Options).
const (
	defaultMaxBodyBytes   = 10 << 20
	defaultMaxInstances   = 10000
	defaultMaxConcurrent  = 64
	defaultRequestTimeout = 30 * time.Second
	// adminBodyBytes bounds admin request bodies, which are small.
	adminBodyBytes = 1 << 20
	// batchRows is how many rows are predicted between two looks at the
	// request's context, so a timeout or a client that went away stops the
	// work within one batch.
	batchRows = 1024
	// statusClientClosed is recorded for a request whose client went away
	// (nginx's 499): not an error of the model.
	statusClientClosed = 499
)

// statusError is a data plane failure with its own HTTP status (413, 504,
// 499); it unwraps to the *modelgate.Error the admin API and messages use.
type statusError struct {
	status int
	err    *modelgate.Error
}

func (e *statusError) Error() string { return e.err.Error() }
func (e *statusError) Unwrap() error { return e.err }

// tooLarge is the answer to a body beyond limit bytes.
func tooLarge(limit int64) error {
	return &statusError{status: http.StatusRequestEntityTooLarge, err: modelgate.Errorf(modelgate.EINVALID,
		"request body is larger than the gateway's limit of %d bytes (%.1f MiB)", limit, float64(limit)/(1<<20))}
}

// tooManyInstances is the answer to a request beyond the instance limit.
func tooManyInstances(limit int) error {
	return modelgate.Errorf(modelgate.EINVALID, "request has more than the gateway's limit of %d instances; send them in several requests", limit)
}

// ctxError explains why a request's context ended: the request timeout
// (504) or a client that went away.
func (s *Server) ctxError(err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return &statusError{status: http.StatusGatewayTimeout, err: modelgate.Errorf(modelgate.EUNAVAILABLE,
			"prediction did not finish within the gateway's request timeout of %s", s.opts.RequestTimeout)}
	}
	return &statusError{status: statusClientClosed, err: modelgate.Errorf(modelgate.EUNAVAILABLE, "the client went away")}
}

// admit takes one of the MaxConcurrent prediction slots, or answers 429
// with Retry-After: a bounded gateway refuses work it cannot start now
// rather than queueing it without bound; releaseSlot gives the slot back.
func (s *Server) admit(w http.ResponseWriter) bool {
	select {
	case s.slots <- struct{}{}:
		return true
	default:
	}
	w.Header().Set("Retry-After", "1")
	writeDataError(w, http.StatusTooManyRequests, fmt.Sprintf(
		"the gateway is answering its limit of %d predictions at once; retry after 1 second", cap(s.slots)))
	return false
}

// releaseSlot gives back a slot admit took.
func (s *Server) releaseSlot() { <-s.slots }

// limitedBody returns r's body bounded by limit; a declared length beyond
// it is refused before anything is read.
func limitedBody(w http.ResponseWriter, r *http.Request, limit int64) (io.Reader, error) {
	if r.ContentLength > limit {
		return nil, tooLarge(limit)
	}
	return http.MaxBytesReader(w, r.Body, limit), nil
}

// bodyError translates a failure to read or decode a body: the size limit
// (413), an empty body, or invalid JSON.
func bodyError(err error) error {
	var mbe *http.MaxBytesError
	var known *modelgate.Error
	switch {
	case errors.As(err, &mbe):
		return tooLarge(mbe.Limit)
	case errors.As(err, &known):
		return err // already says what is wrong
	case errors.Is(err, io.EOF):
		return modelgate.Errorf(modelgate.EINVALID, "request body is empty")
	}
	return modelgate.Errorf(modelgate.EINVALID, "request body is not valid JSON: %v", err)
}

// setLimits fills in the default limits.
func (o *Options) setLimits() {
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = defaultMaxBodyBytes
	}
	if o.MaxInstances <= 0 {
		o.MaxInstances = defaultMaxInstances
	}
	if o.MaxConcurrent <= 0 {
		o.MaxConcurrent = defaultMaxConcurrent
	}
	if o.RequestTimeout <= 0 {
		o.RequestTimeout = defaultRequestTimeout
	}
}
