package gateway

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/wire"
)

// AdminError is the admin API's error answer; the clients map it back to a
// *modelgate.Error.
type AdminError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Hint    string `json:"hint,omitempty"`
}

// codes lists the modelgate error codes with their HTTP statuses.
func codes() map[string]int {
	return map[string]int{
		modelgate.ECONFLICT:     http.StatusConflict,
		modelgate.EINTERNAL:     http.StatusInternalServerError,
		modelgate.EINVALID:      http.StatusBadRequest,
		modelgate.ENOTFOUND:     http.StatusNotFound,
		modelgate.EUNAVAILABLE:  http.StatusServiceUnavailable,
		modelgate.EUNAUTHORIZED: http.StatusUnauthorized,
		modelgate.EPRECONDITION: http.StatusPreconditionFailed,
	}
}

// errorStatus returns the HTTP status for err's code.
func errorStatus(err error) int {
	if st, ok := codes()[modelgate.ErrorCode(err)]; ok {
		return st
	}
	return http.StatusInternalServerError
}

// statusCode returns the modelgate code for an HTTP status.
func statusCode(status int) string {
	for code, st := range codes() {
		if st == status {
			return code
		}
	}
	if status >= 500 {
		return modelgate.EINTERNAL
	}
	return modelgate.EINVALID
}

// dataStatus is the data plane's status for err: its own for a limit or a
// timeout, 400 for bad input, 404 for a missing model, 500 for everything
// else (a model failure).
func dataStatus(err error) int {
	var se *statusError
	if errors.As(err, &se) {
		return se.status
	}
	switch modelgate.ErrorCode(err) {
	case modelgate.EINVALID:
		return http.StatusBadRequest
	case modelgate.ENOTFOUND:
		return http.StatusNotFound
	}
	return http.StatusInternalServerError
}

// writeJSON answers v with status. The body is encoded first so the
// answer carries its Content-Length and can be flushed whole before the
// handler returns.
func writeJSON(w http.ResponseWriter, status int, v any) {
	writeJSONWith(w, status, v, nil)
}

// writeJSONWith is writeJSON encoding into a buffer of bufs (nil: a new
// one). A jsonAppender encodes itself.
func writeJSONWith(w http.ResponseWriter, status int, v any, bufs *buffers) {
	var bp *[]byte
	if bufs != nil {
		bp = bufs.get()
		defer bufs.put(bp)
	} else {
		bp = new([]byte)
	}
	b, err := encodeAnswer((*bp)[:0], v)
	if err != nil {
		status = http.StatusInternalServerError
		b, _ = encodeAnswer(b[:0], wire.ErrorBody{Error: "encode answer: " + err.Error()})
	}
	*bp = b
	h := w.Header()
	hv := []string{"application/json", strconv.Itoa(len(b))} // one allocation for both values
	h["Content-Type"], h["Content-Length"] = hv[0:1:1], hv[1:2:2]
	w.WriteHeader(status)
	_, _ = w.Write(b) // the client went away; nothing to do
}

// encodeAnswer appends v's JSON and a newline, as json.Encoder writes it.
func encodeAnswer(b []byte, v any) ([]byte, error) {
	if a, ok := v.(jsonAppender); ok {
		return a.appendJSON(b), nil
	}
	buf := bytes.NewBuffer(b)
	err := json.NewEncoder(buf).Encode(v)
	return buf.Bytes(), err
}

func writeDataError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, wire.ErrorBody{Error: msg})
}

func writeAdminError(w http.ResponseWriter, err error) {
	body := AdminError{Code: modelgate.ErrorCode(err), Message: modelgate.ErrorMessage(err)}
	var e *modelgate.Error
	if errors.As(err, &e) {
		body.Message, body.Hint = e.Message, e.Hint
		if body.Message == "" {
			body.Message = err.Error()
		}
	}
	writeJSON(w, errorStatus(err), body)
}
