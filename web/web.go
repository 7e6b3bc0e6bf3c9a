package web

import (
	"embed"
	"fmt"
	"html/template"
	"net/http"

	"github.com/modelgate/modelgate"
)

//go:embed templates/*.html
var templates embed.FS

// Handler serves the web view of store's promotions. gone tells whether a
// lock holder no longer runs (nil: only an expired lease says so), so an
// unfinished promotion nobody runs shows as such.
func Handler(store modelgate.PromotionStore, gone func(owner string) bool) http.Handler {
	t := template.Must(template.New("").Funcs(template.FuncMap{"pct": pct}).ParseFS(templates, "templates/*.html"))
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		ps, err := store.ListPromotions(r.Context(), r.URL.Query().Get("model"))
		if err != nil {
			fail(w, err)
			return
		}
		render(w, t, "list.html", map[string]any{"Promotions": ps})
	})
	mux.HandleFunc("GET /promotions/{id}", func(w http.ResponseWriter, r *http.Request) {
		page, err := detail(r, store, gone)
		if err != nil {
			fail(w, err)
			return
		}
		render(w, t, "promotion.html", page)
	})
	return mux
}

type detailPage struct {
	// Orphaned: the promotion is unfinished and no process runs it (it
	// crashed, was killed, or is held for a person).
	Orphaned bool
	P        *modelgate.Promotion
	Steps    []*modelgate.StepRecord
	Look     *modelgate.WindowEvidence // the window's last look; nil before it
	Running  bool
}

func detail(r *http.Request, store modelgate.PromotionStore, gone func(string) bool) (*detailPage, error) {
	p, err := store.GetPromotion(r.Context(), r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	steps, err := store.Steps(r.Context(), p.ID)
	if err != nil {
		return nil, err
	}
	page := &detailPage{P: p, Steps: steps, Running: p.Outcome == modelgate.OutcomeNone}
	if p.Active() {
		holder, _, err := store.LockHolder(r.Context(), p.Model)
		page.Orphaned = err == nil && (holder == "" || gone != nil && gone(holder))
	}
	if w, ok := modelgate.FindEvidence[modelgate.WindowEvidence](steps); ok && w.Figures != nil && w.Judgement != nil {
		page.Look = &w
	}
	return page, nil
}

func render(w http.ResponseWriter, t *template.Template, name string, data any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := t.ExecuteTemplate(w, name, data); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
	}
}

func fail(w http.ResponseWriter, err error) {
	status := http.StatusInternalServerError
	if modelgate.ErrorCode(err) == modelgate.ENOTFOUND {
		status = http.StatusNotFound
	}
	http.Error(w, modelgate.ErrorMessage(err), status)
}

func pct(rate float64) string { return fmt.Sprintf("%.2f%%", 100*rate) }
