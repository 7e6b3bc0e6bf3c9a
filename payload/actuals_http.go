package payload

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
)

// actualJSON is one posted actual. "value" is accepted for "actual" (the
// JSON name of judge.Actual's field).
type actualJSON struct {
	RequestID string   `json:"request_id"`
	Actual    *float64 `json:"actual"`
	Value     *float64 `json:"value"`
}

// ServeHTTP answers POST /actuals: a JSON array of
// {"request_id": "...", "actual": 12.5} (or one such object) is joined to
// the kept predictions, and the answer is a JoinResult. A malformed body
// rejects the whole batch with 400 {"error": "..."}; nothing of it is
// joined.
func (a *Actuals) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeError(w, http.StatusMethodNotAllowed, "actuals are posted with POST")
		return
	}
	limit := a.MaxBodyBytes
	if limit <= 0 {
		limit = defaultMaxBodyBytes
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body is larger than %d bytes", limit))
			return
		}
		writeError(w, http.StatusBadRequest, "read body: "+err.Error())
		return
	}
	actuals, err := decodeActuals(body)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, a.Join(actuals...))
}

// decodeActuals reads one actual or an array of them.
func decodeActuals(body []byte) ([]Actual, error) {
	body = bytes.TrimSpace(body)
	var items []actualJSON
	switch {
	case len(body) == 0:
		return nil, errors.New("body is empty: want [{\"request_id\": \"...\", \"actual\": 12.5}]")
	case body[0] == '[':
		if err := json.Unmarshal(body, &items); err != nil {
			return nil, fmt.Errorf("body is not an array of actuals: %v", err)
		}
	default:
		var one actualJSON
		if err := json.Unmarshal(body, &one); err != nil {
			return nil, fmt.Errorf("body is not an actual or an array of actuals: %v", err)
		}
		items = []actualJSON{one}
	}
	out := make([]Actual, len(items))
	for i, it := range items {
		v := it.Actual
		if v == nil {
			v = it.Value
		}
		switch {
		case it.RequestID == "":
			return nil, fmt.Errorf("actual %d has no request_id", i)
		case v == nil:
			return nil, fmt.Errorf("actual %d (request_id %q) has no \"actual\" number", i, it.RequestID)
		case it.Actual != nil && it.Value != nil && *it.Actual != *it.Value:
			return nil, fmt.Errorf("actual %d (request_id %q) has both \"actual\" and \"value\", and they differ", i, it.RequestID)
		}
		out[i] = Actual{RequestID: it.RequestID, Value: *v}
	}
	return out, nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeError answers {"error": msg}, as KServe and the gateway do.
func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}
