package httpapi_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/httpapi"
)

// get sends GET path with token and returns the status and body.
func get(t *testing.T, url, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// whoami names the caller and what its role may do; the report needs a
// reader's token; the UI gets every path the API does not own.
func TestServer_WhoamiReportAndUI(t *testing.T) {
	tokens := &httpapi.Tokens{}
	if err := tokens.Add(viewerToken, httpapi.Identity{Name: "vic", Role: httpapi.RoleViewer}); err != nil {
		t.Fatal(err)
	}
	if err := tokens.Add(operatorToken, httpapi.Identity{Name: "olga", Role: httpapi.RoleOperator}); err != nil {
		t.Fatal(err)
	}
	s := httpapi.NewServer(&service{}, tokens, &trail{})
	s.Report = func(p *modelgate.Promotion, _ []*modelgate.StepRecord) ([]byte, error) {
		return []byte("<p>report of " + p.ID + "</p>"), nil
	}
	s.UI = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ui at "+r.URL.Path) })
	h, err := s.Handler()
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	for _, tt := range []struct {
		path, token string
		status      int
		want        string
	}{
		{"/api/v1/whoami", "", 401, "bearer token is required"},
		{"/api/v1/whoami", viewerToken, 200, `"name": "vic",` + "\n" + `  "role": "viewer",` + "\n" + `  "may": [` + "\n" + `    "read"` + "\n  ]"},
		{"/api/v1/whoami", operatorToken, 200, `"read",` + "\n" + `    "operate"` + "\n  ]"},
		{"/api/v1/promotions/p7/report.html", "", 401, "bearer token"},
		{"/api/v1/promotions/p7/report.html", viewerToken, 200, "<p>report of p7</p>"},
		{"/api/v1/nothing", viewerToken, 404, "no such API call"},
		{"/promotions/p7", "", 200, "ui at /promotions/p7"},
	} {
		status, body := get(t, srv.URL+tt.path, tt.token)
		if status != tt.status || !strings.Contains(body, tt.want) {
			t.Errorf("GET %s: %d %s, want %d with %q", tt.path, status, body, tt.status, tt.want)
		}
	}
}
