package github_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/modelgate/modelgate/github"
	"github.com/modelgate/modelgate/modelgatetest"
)

const token = "ghp_test-token-not-for-errors"

// receiver plays GitHub's "create an issue" endpoint as documented: it
// checks the method, path, headers and body fields, and answers as the
// behaviour says (403 with x-ratelimit-remaining 0 for throttling, as
// GitHub does for an exhausted primary limit).
type receiver struct {
	t  *testing.T
	b  modelgatetest.TicketerBehaviour
	mu sync.Mutex
	in []modelgatetest.Delivery
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.URL.Path != "/repos/acme/forecasting/issues" || req.Method != http.MethodPost && req.Method != http.MethodGet {
		r.t.Errorf("%s %s, want POST or GET /repos/acme/forecasting/issues", req.Method, req.URL.Path)
	}
	want := map[string]string{"Authorization": "Bearer " + token, "Accept": "application/vnd.github+json"}
	if req.Method == http.MethodPost {
		want["Content-Type"] = "application/json"
	}
	for h, want := range want {
		if got := req.Header.Get(h); got != want {
			r.t.Errorf("header %s = %q, want %q", h, got, want)
		}
	}
	if req.Header.Get("User-Agent") == "" {
		r.t.Error("no User-Agent: GitHub refuses requests without one")
	}
	switch r.b {
	case modelgatetest.TicketsThrottled:
		w.Header().Set("X-Ratelimit-Remaining", "0")
		w.Header().Set("X-Ratelimit-Reset", strconv.FormatInt(time.Now().Add(90*time.Second).Unix(), 10))
		http.Error(w, `{"message":"API rate limit exceeded"}`, http.StatusForbidden)
		return
	case modelgatetest.TicketsServerError:
		http.Error(w, `{"message":"Server Error"}`, http.StatusInternalServerError)
		return
	case modelgatetest.TicketsRefused:
		http.Error(w, `{"message":"Bad credentials"}`, http.StatusUnauthorized)
		return
	case modelgatetest.TicketsSlow:
		time.Sleep(time.Second)
	}
	if req.Method == http.MethodGet {
		r.list(w, req)
		return
	}
	r.create(w, req)
}

// list answers "list repository issues" (newest first, as asked) with
// the labels filter honoured.
func (r *receiver) list(w http.ResponseWriter, req *http.Request) {
	q := req.URL.Query()
	if q.Get("state") != "all" || q.Get("labels") != "incident" {
		r.t.Errorf("list query %v: want state=all and the first label", q)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	out := []map[string]any{}
	for i := len(r.in) - 1; i >= 0; i-- {
		out = append(out, map[string]any{"number": i + 1, "title": r.in[i].Title, "html_url": fmt.Sprintf("https://github.com/acme/forecasting/issues/%d", i+1),
			"labels": []map[string]string{{"name": "incident"}, {"name": "modelgate"}}})
	}
	_ = json.NewEncoder(w).Encode(out)
}

func (r *receiver) create(w http.ResponseWriter, req *http.Request) {
	var body struct {
		Title  string   `json:"title"`
		Body   string   `json:"body"`
		Labels []string `json:"labels"`
	}
	dec := json.NewDecoder(req.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil || body.Title == "" {
		r.t.Errorf("body: %v, title %q: want the documented fields and a title", err, body.Title)
		http.Error(w, `{"message":"Validation Failed"}`, http.StatusUnprocessableEntity)
		return
	}
	r.mu.Lock()
	r.in = append(r.in, modelgatetest.Delivery{Title: body.Title, Text: body.Body})
	n := len(r.in)
	r.mu.Unlock()
	w.WriteHeader(http.StatusCreated)
	fmt.Fprintf(w, `{"number": %d, "html_url": "https://github.com/acme/forecasting/issues/%d", "title": %q}`, n, n, body.Title)
}

func (r *receiver) received(*testing.T) []modelgatetest.Delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]modelgatetest.Delivery(nil), r.in...)
}

func TestConformance(t *testing.T) {
	modelgatetest.TestTicketer(t, func(t *testing.T, b modelgatetest.TicketerBehaviour) modelgatetest.TicketerSubject {
		r := &receiver{t: t, b: b}
		srv := httptest.NewServer(r)
		t.Cleanup(srv.Close)
		t.Setenv("MG_GITHUB_TOKEN", token)
		tk, err := github.New(github.Options{Repo: "acme/forecasting", TokenEnv: "MG_GITHUB_TOKEN", APIURL: srv.URL, Timeout: 300 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		return modelgatetest.TicketerSubject{Ticketer: tk, Received: r.received, Secret: token}
	})
}

func TestNew_Refusals(t *testing.T) {
	t.Setenv("MG_EMPTY", "")
	for _, o := range []github.Options{{Repo: "acme"}, {Repo: "acme/x/y"}, {Repo: "acme/forecasting", TokenEnv: "MG_EMPTY"}} {
		if _, err := github.New(o); err == nil {
			t.Errorf("New(%+v) accepted", o)
		}
	}
}
