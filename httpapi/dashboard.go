package httpapi

import (
	"net/http"

	"github.com/modelgate/modelgate"
)

// whoami answers the caller's identity, so a page can show only the
// buttons the caller's role allows.
func (s *Server) whoami(w http.ResponseWriter, _ *http.Request, c *call) error {
	writeJSON(w, http.StatusOK, whoamiResponse{Identity: c.id, May: mayOf(c.id.Role)})
	return nil
}

type whoamiResponse struct {
	Identity
	// May names the kinds of calls the role allows: "read", "operate"
	// (start, accept, abort, resume) and "approve".
	May []string `json:"may"`
}

func mayOf(r Role) []string {
	var out []string
	for _, p := range []permission{permRead, permOperate, permApprove} {
		if r.allows(p) {
			out = append(out, string(p))
		}
	}
	return out
}

// report answers the promotion's HTML report.
func (s *Server) report(w http.ResponseWriter, r *http.Request, c *call) error {
	if s.Report == nil {
		return modelgate.Errorf(modelgate.ENOTFOUND, "this server renders no HTML reports")
	}
	p, steps, err := s.Service.Promotion(r.Context(), c.promo)
	if err != nil {
		return err
	}
	page, err := s.Report(p, steps)
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	// The page is the report's own: no script may run in it, whatever a
	// reason or a label holds.
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src data:")
	w.WriteHeader(http.StatusOK)
	_, err = w.Write(page)
	return err
}
