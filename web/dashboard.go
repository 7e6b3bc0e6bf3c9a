package web

import (
	"embed"
	"io/fs"
	"net/http"
)

//go:embed dashboard
var dashboard embed.FS

// Dashboard serves the dashboard's page and assets: a page that asks for
// a token once, then draws promotions and their live canary figures from
// the JSON API under /api/v1/ of the same origin, and offers the acts the
// token's role allows. It holds no data itself, so it needs no token: the
// API it calls checks every request.
func Dashboard() http.Handler {
	sub, err := fs.Sub(dashboard, "dashboard")
	if err != nil {
		panic(err) // the directory is embedded above: it exists
	}
	page := func(w http.ResponseWriter, r *http.Request) {
		secure(w)
		http.ServeFileFS(w, r, sub, "index.html")
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", page)
	mux.HandleFunc("GET /promotions/{id}", page)
	assets := http.StripPrefix("/assets/", http.FileServerFS(sub))
	mux.HandleFunc("GET /assets/", func(w http.ResponseWriter, r *http.Request) {
		secure(w)
		assets.ServeHTTP(w, r)
	})
	return mux
}

// secure keeps the pages to their own origin: scripts, styles and calls
// only from it, so a value shown on a page cannot load or send anything.
func secure(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data: blob:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
}
