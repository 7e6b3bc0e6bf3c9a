package gateway

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"

	"github.com/modelgate/modelgate"
)

// authorized lets through the requests that carry Options.AdminToken as a
// bearer token and answers the others 401. Both tokens are hashed first so
// the constant-time comparison does not even leak the length.
func (s *Server) authorized(next http.Handler) http.Handler {
	if s.opts.AdminToken == "" {
		return next
	}
	want := sha256.Sum256([]byte(s.opts.AdminToken))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, sent := bearerToken(r)
		sum := sha256.Sum256([]byte(got))
		if sent && subtle.ConstantTimeCompare(sum[:], want[:]) == 1 {
			next.ServeHTTP(w, r)
			return
		}
		s.opts.Logger.Warn("admin request refused: no or wrong token", "method", r.Method, "path", r.URL.Path,
			"remote", r.RemoteAddr, "token_sent", sent)
		w.Header().Set("WWW-Authenticate", `Bearer realm="modelgate admin"`)
		writeAdminError(w, s.unauthorized(sent))
	})
}

// unauthorized explains a refused admin request.
func (s *Server) unauthorized(sent bool) error {
	msg := `the gateway's admin API needs its admin token, sent as "Authorization: Bearer <token>"`
	if sent {
		msg = "the admin token sent is not the gateway's"
	}
	return modelgate.Errorf(modelgate.EUNAUTHORIZED, "%s", msg).WithHint("%s", s.opts.AdminTokenHint)
}

// bearerToken returns the token of an "Authorization: Bearer" header.
func bearerToken(r *http.Request) (string, bool) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	return strings.TrimSpace(token), true
}
