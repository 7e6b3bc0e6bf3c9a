package httpapi

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/modelgate/modelgate"
)

// errorBody is every error's JSON: {"error": {"code", "message", "hint"}}.
type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Hint    string `json:"hint,omitempty"`
	} `json:"error"`
}

// StatusFor maps a modelgate error code to an HTTP status. A refusal by
// the service (EUNAUTHORIZED) is 403: the caller is known, the act is not
// allowed; a missing or unknown token is answered 401 before any call.
func StatusFor(code string) int {
	switch code {
	case modelgate.EINVALID:
		return http.StatusBadRequest
	case modelgate.EUNAUTHORIZED:
		return http.StatusForbidden
	case modelgate.ENOTFOUND:
		return http.StatusNotFound
	case modelgate.ECONFLICT, modelgate.EPRECONDITION:
		return http.StatusConflict
	case modelgate.EUNAVAILABLE:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// codeFor maps an HTTP status back to a code, for an answer without a
// JSON error body.
func codeFor(status int) string {
	switch status {
	case http.StatusBadRequest:
		return modelgate.EINVALID
	case http.StatusUnauthorized, http.StatusForbidden:
		return modelgate.EUNAUTHORIZED
	case http.StatusNotFound:
		return modelgate.ENOTFOUND
	case http.StatusConflict:
		return modelgate.ECONFLICT
	case http.StatusPreconditionFailed:
		return modelgate.EPRECONDITION
	case http.StatusServiceUnavailable, http.StatusBadGateway, http.StatusGatewayTimeout:
		return modelgate.EUNAVAILABLE
	}
	return modelgate.EINTERNAL
}

// writeError answers err as JSON with the status its code maps to.
func writeError(w http.ResponseWriter, err error) int {
	var e *modelgate.Error
	var body errorBody
	body.Error.Code, body.Error.Message = modelgate.ErrorCode(err), err.Error()
	if errors.As(err, &e) {
		body.Error.Message, body.Error.Hint = e.Message, e.Hint
		if e.Message == "" {
			body.Error.Message = e.Error()
		}
	}
	status := StatusFor(body.Error.Code)
	if status == http.StatusServiceUnavailable {
		// Unavailable is passing (a standby replica, a store down): say when
		// to try again.
		w.Header().Set("Retry-After", "5")
	}
	if body.Error.Code == modelgate.EINTERNAL {
		body.Error.Message = "internal error: " + body.Error.Message
	}
	writeJSON(w, status, body)
	return status
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// readError turns an error answer into a *modelgate.Error: the body's code
// and message when it has them, else the status's.
func readError(resp *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	var body errorBody
	if err := json.Unmarshal(b, &body); err == nil && body.Error.Code != "" {
		return &modelgate.Error{Code: body.Error.Code, Message: body.Error.Message, Hint: body.Error.Hint}
	}
	return modelgate.Errorf(codeFor(resp.StatusCode), "modelgate server answered %s: %.200s", resp.Status, b)
}

// decode reads a request's JSON body into v (at most 1 MiB).
func decode(r *http.Request, v any) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil && !errors.Is(err, io.EOF) {
		return modelgate.Errorf(modelgate.EINVALID, "the request body is not the expected JSON: %v", err)
	}
	return nil
}

func required(name, value string) error {
	if value == "" {
		return modelgate.Errorf(modelgate.EINVALID, "%s is required", name)
	}
	return nil
}
