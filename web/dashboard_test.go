package web_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/modelgate/modelgate/web"
)

// The dashboard's page is served for the list and for each promotion, with
// its own assets and a policy that keeps it to its origin.
func TestDashboard(t *testing.T) {
	srv := httptest.NewServer(web.Dashboard())
	defer srv.Close()
	for _, tt := range []struct {
		path, want, kind string
		status           int
	}{
		{"/", `<script src="/assets/app.js" defer></script>`, "text/html", 200},
		{"/promotions/p1", `<main id="app"`, "text/html", 200},
		{"/assets/app.js", "/api/v1/whoami", "javascript", 200},
		{"/assets/charts.js", "window.Charts", "javascript", 200},
		{"/assets/app.css", "@media", "text/css", 200},
		{"/assets/nope.js", "", "", 404},
		{"/elsewhere", "", "", 404},
	} {
		resp, err := http.Get(srv.URL + tt.path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tt.status {
			t.Errorf("GET %s: %d, want %d", tt.path, resp.StatusCode, tt.status)
			continue
		}
		if tt.status != 200 {
			continue
		}
		if !strings.Contains(string(body), tt.want) || !strings.Contains(resp.Header.Get("Content-Type"), tt.kind) {
			t.Errorf("GET %s: %s, lacks %q or is not %s", tt.path, resp.Header.Get("Content-Type"), tt.want, tt.kind)
		}
		if !strings.Contains(resp.Header.Get("Content-Security-Policy"), "default-src 'self'") {
			t.Errorf("GET %s: no content security policy", tt.path)
		}
	}
}
