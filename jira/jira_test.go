package jira_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelgate/modelgate/jira"
	"github.com/modelgate/modelgate/modelgatetest"
)

const apiToken = "jira-api-token-not-for-errors"

// receiver plays Jira Cloud's create-issue endpoint (REST API v3) as
// documented: Basic auth of e-mail and API token; fields project.key,
// issuetype.name and summary required; the description an Atlassian
// Document Format document; duedate as YYYY-MM-DD.
type receiver struct {
	t  *testing.T
	b  modelgatetest.TicketerBehaviour
	mu sync.Mutex
	in []modelgatetest.Delivery
}

type fields struct {
	Project     struct{ Key string }  `json:"project"`
	IssueType   struct{ Name string } `json:"issuetype"`
	Summary     string                `json:"summary"`
	Description struct {
		Type    string `json:"type"`
		Version int    `json:"version"`
		Content []struct {
			Type    string `json:"type"`
			Content []struct{ Type, Text string }
		} `json:"content"`
	} `json:"description"`
	DueDate string   `json:"duedate"`
	Labels  []string `json:"labels"`
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	want := "Basic " + base64.StdEncoding.EncodeToString([]byte("ops@acme.test:"+apiToken))
	if req.Method != http.MethodPost || req.URL.Path != "/rest/api/3/issue" && req.URL.Path != "/rest/api/3/search/jql" || req.Header.Get("Authorization") != want {
		r.t.Errorf("%s %s with %q, want POST /rest/api/3/issue or /rest/api/3/search/jql with Basic auth", req.Method, req.URL.Path, req.Header.Get("Authorization"))
	}
	switch r.b {
	case modelgatetest.TicketsThrottled:
		w.Header().Set("Retry-After", "2")
		http.Error(w, `{"errorMessages":["Rate limit exceeded"]}`, http.StatusTooManyRequests)
		return
	case modelgatetest.TicketsServerError:
		http.Error(w, `{"errorMessages":["Internal server error"]}`, http.StatusInternalServerError)
		return
	case modelgatetest.TicketsRefused:
		http.Error(w, `{"errorMessages":["Client must be authenticated"]}`, http.StatusUnauthorized)
		return
	case modelgatetest.TicketsSlow:
		time.Sleep(time.Second)
	}
	if req.URL.Path == "/rest/api/3/search/jql" {
		r.search(w, req)
		return
	}
	r.create(w, req)
}

// jqlPhrase is the one JQL shape Find sends: the project, and a phrase
// searched in the summary.
var jqlPhrase = regexp.MustCompile(`^project = "OPS" AND summary ~ "\\"([^"\\]+)\\"" ORDER BY created DESC$`)

// search answers "search for issues using JQL (enhanced search)": jql
// required, fields and maxResults optional, issues with the fields asked.
func (r *receiver) search(w http.ResponseWriter, req *http.Request) {
	var body struct {
		JQL        string   `json:"jql"`
		Fields     []string `json:"fields"`
		MaxResults int      `json:"maxResults"`
	}
	dec := json.NewDecoder(req.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		r.t.Errorf("search body: %v", err)
	}
	m := jqlPhrase.FindStringSubmatch(body.JQL)
	if m == nil {
		r.t.Errorf("jql %q: not the expected shape", body.JQL)
		http.Error(w, `{"errorMessages":["invalid jql"]}`, http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	issues := []map[string]any{}
	for i := len(r.in) - 1; i >= 0; i-- {
		if strings.Contains(r.in[i].Title, m[1]) {
			issues = append(issues, map[string]any{"id": fmt.Sprintf("1000%d", i+1), "key": fmt.Sprintf("OPS-%d", i+1), "fields": map[string]string{"summary": r.in[i].Title}})
		}
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"issues": issues, "isLast": true})
}

func (r *receiver) create(w http.ResponseWriter, req *http.Request) {
	var body struct{ Fields fields }
	dec := json.NewDecoder(req.Body)
	dec.DisallowUnknownFields()
	err := dec.Decode(&body)
	f := body.Fields
	if err != nil || f.Project.Key != "OPS" || f.IssueType.Name != "Task" || f.Summary == "" || f.Description.Type != "doc" || f.Description.Version != 1 {
		r.t.Errorf("fields %+v (%v): want project OPS, issue type Task, a summary and an ADF description", f, err)
		http.Error(w, `{"errors":{"summary":"required"}}`, http.StatusBadRequest)
		return
	}
	var text []string
	for _, p := range f.Description.Content {
		for _, c := range p.Content {
			text = append(text, c.Text)
		}
	}
	r.mu.Lock()
	r.in = append(r.in, modelgatetest.Delivery{Title: f.Summary, Text: strings.Join(text, "\n") + "\nduedate " + f.DueDate})
	n := len(r.in)
	r.mu.Unlock()
	w.WriteHeader(http.StatusCreated)
	fmt.Fprintf(w, `{"id": "1000%d", "key": "OPS-%d", "self": "https://acme.atlassian.net/rest/api/3/issue/1000%d"}`, n, n, n)
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
		t.Setenv("MG_JIRA_EMAIL", "ops@acme.test")
		t.Setenv("MG_JIRA_TOKEN", apiToken)
		tk, err := jira.New(jira.Options{URL: srv.URL, Project: "OPS", EmailEnv: "MG_JIRA_EMAIL", TokenEnv: "MG_JIRA_TOKEN", Timeout: 300 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		return modelgatetest.TicketerSubject{Ticketer: tk, Received: r.received, Secret: apiToken}
	})
}

func TestNew_Refusals(t *testing.T) {
	for _, o := range []jira.Options{{URL: "acme.atlassian.net", Project: "OPS"}, {URL: "https://acme.atlassian.net"}} {
		if _, err := jira.New(o); err == nil {
			t.Errorf("New(%+v) accepted", o)
		}
	}
}
