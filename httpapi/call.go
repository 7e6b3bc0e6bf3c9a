package httpapi

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/modelgate/modelgate"
)

// call is one API request on its way through: who makes it and what it is
// about, for the audit trail.
type call struct {
	id      Identity
	known   bool // a valid token was given
	op      string
	model   string
	version string
	promo   string
}

// about reads what a refused call was about from its body (model,
// version), for the audit trail; the body is not acted on.
func (c *call) about(r *http.Request) {
	var b struct{ Model, Version string }
	if json.NewDecoder(io.LimitReader(r.Body, 64<<10)).Decode(&b) != nil {
		return
	}
	if c.model == "" {
		c.model = b.Model
	}
	c.version = b.Version
}

type handlerFunc func(w http.ResponseWriter, r *http.Request, c *call) error

// handle registers h for pattern: the token is checked against perm ("":
// no token needed), a mutating call is audited, and the answer is counted.
func (s *Server) handle(mux *http.ServeMux, pattern string, perm permission, h handlerFunc) {
	route := pattern
	if _, path, ok := strings.Cut(pattern, " "); ok {
		route = path
	}
	mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w}
		c := &call{op: opName(r.Method, route), model: r.PathValue("model"), promo: r.PathValue("id")}
		s.serve(rec, r, c, perm, h)
		if s.requests != nil {
			s.requests.WithLabelValues(route, r.Method, strconv.Itoa(rec.code())).Inc()
		}
	})
}

// opName names a call for the audit trail: "api.abort", "api.promotions".
func opName(method, route string) string {
	parts := strings.Split(strings.Trim(route, "/"), "/")
	return "api." + strings.ToLower(method) + "." + parts[len(parts)-1]
}

func (s *Server) serve(w *statusRecorder, r *http.Request, c *call, perm permission, h handlerFunc) {
	mutating := r.Method != http.MethodGet && r.Method != http.MethodHead
	if perm != "" {
		if err := s.authorize(r, c, perm); err != nil {
			s.refuse(w, err)
			if mutating {
				c.about(r)
				s.audit(r, c, "refused", err)
			}
			return
		}
		r = r.WithContext(modelgate.NewContextWithActor(r.Context(), modelgate.Actor{Name: c.id.Name, Source: "token:" + c.id.Name}))
	}
	err := h(w, r, c)
	if err != nil {
		writeError(w, err)
	}
	if mutating {
		s.audit(r, c, outcomeOf(err), err)
	}
}

// authorize finds the caller's identity and checks the role allows perm.
func (s *Server) authorize(r *http.Request, c *call, perm permission) error {
	id, ok := s.Tokens.lookup(bearer(r))
	if !ok {
		return errUnauthenticated
	}
	c.id, c.known = id, true
	if !id.Role.allows(perm) {
		return modelgate.Errorf(modelgate.EUNAUTHORIZED, "%s (role %s) may not %s; that needs the %s role or admin", id.Name, id.Role, perm, roleFor(perm))
	}
	return nil
}

var errUnauthenticated = modelgate.Errorf(modelgate.EUNAUTHORIZED, "a valid bearer token is required (Authorization: Bearer <token>)")

func roleFor(p permission) Role {
	if p == permApprove {
		return RoleApprover
	}
	if p == permOperate {
		return RoleOperator
	}
	return RoleViewer
}

// refuse answers 401 for a missing or unknown token, 403 otherwise.
func (s *Server) refuse(w http.ResponseWriter, err error) {
	if err == errUnauthenticated {
		w.Header().Set("WWW-Authenticate", `Bearer realm="modelgate"`)
		var body errorBody
		body.Error.Code, body.Error.Message = modelgate.EUNAUTHORIZED, modelgate.ErrorMessage(err)
		writeJSON(w, http.StatusUnauthorized, body)
		return
	}
	writeError(w, err)
}

func outcomeOf(err error) string {
	switch {
	case err == nil:
		return "done"
	case modelgate.ErrorCode(err) == modelgate.EUNAUTHORIZED:
		return "refused"
	}
	return "failed"
}

// audit appends the call's entry; a failure is logged, since the call's
// own effects are audited by the service.
func (s *Server) audit(r *http.Request, c *call, outcome string, err error) {
	e := modelgate.AuditEntry{Time: s.Now().UTC(), Actor: "anonymous", ActorSource: "none", Action: c.op, Model: c.model, Version: c.version,
		PromotionID: c.promo, Outcome: outcome, Detail: r.Method + " " + r.URL.Path}
	if c.known {
		e.Actor, e.ActorSource = c.id.Name, "token:"+c.id.Name
	} else if bearer(r) != "" {
		e.ActorSource = "token:unknown"
	}
	if err != nil {
		e.Detail += ": " + modelgate.ErrorMessage(err)
	}
	if _, aerr := s.Audit.Append(r.Context(), e); aerr != nil {
		s.Logger.Error("cannot record an API call in the audit trail", "call", e.Detail, "err", aerr)
	}
}

// statusRecorder remembers the status written, for the request counter,
// and passes Flush on for event streams.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (w *statusRecorder) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusRecorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusRecorder) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *statusRecorder) code() int {
	if w.status == 0 {
		return http.StatusOK
	}
	return w.status
}
