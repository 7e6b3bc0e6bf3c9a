package jira

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/modelgate/modelgate"
)

// Options configure a Ticketer.
type Options struct {
	URL       string        // the site, e.g. https://example.atlassian.net
	Project   string        // project key, e.g. OPS
	IssueType string        // default Task
	EmailEnv  string        // environment variable holding the account's e-mail; default JIRA_EMAIL
	TokenEnv  string        // environment variable holding the API token; default JIRA_API_TOKEN
	Labels    []string      // default [incident, modelgate]
	Timeout   time.Duration // one request; default 30s
	Client    *http.Client  // default a new client with Timeout
}

// Ticketer opens Jira issues.
type Ticketer struct {
	o    Options
	auth string
}

var _ modelgate.Ticketer = (*Ticketer)(nil)

// New checks the options and reads the credentials; it does not connect.
func New(o Options) (*Ticketer, error) {
	if !strings.HasPrefix(o.URL, "https://") && !strings.HasPrefix(o.URL, "http://") {
		return nil, modelgate.Errorf(modelgate.EINVALID, "incidents.jira.url: want https://SITE.atlassian.net, got %q", o.URL)
	}
	if o.Project == "" {
		return nil, modelgate.Errorf(modelgate.EINVALID, "incidents.jira.project: required (a project key like OPS)")
	}
	o.URL, o.IssueType = strings.TrimRight(o.URL, "/"), cmpOr(o.IssueType, "Task")
	o.EmailEnv, o.TokenEnv = cmpOr(o.EmailEnv, "JIRA_EMAIL"), cmpOr(o.TokenEnv, "JIRA_API_TOKEN")
	email, token := os.Getenv(o.EmailEnv), os.Getenv(o.TokenEnv)
	if email == "" || token == "" {
		return nil, modelgate.Errorf(modelgate.EINVALID, "incidents.jira: no credentials: set $%s and $%s", o.EmailEnv, o.TokenEnv)
	}
	if o.Labels == nil {
		o.Labels = []string{"incident", "modelgate"}
	}
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Second
	}
	if o.Client == nil {
		o.Client = &http.Client{Timeout: o.Timeout}
	}
	return &Ticketer{o: o, auth: "Basic " + base64.StdEncoding.EncodeToString([]byte(email+":"+token))}, nil
}

func cmpOr(v, d string) string {
	if v == "" {
		return d
	}
	return v
}

// String names the ticketer without secrets.
func (t *Ticketer) String() string { return "jira " + t.o.URL + " project " + t.o.Project }

// Open implements modelgate.Ticketer.
func (t *Ticketer) Open(ctx context.Context, in modelgate.Incident) (modelgate.Ticket, bool, error) {
	if err := in.Validate(); err != nil {
		return modelgate.Ticket{}, false, err
	}
	b, err := json.Marshal(map[string]any{"fields": t.fields(in)})
	if err != nil {
		return modelgate.Ticket{}, false, err
	}
	resp, err := t.post(ctx, "/rest/api/3/issue", b)
	if err != nil {
		return modelgate.Ticket{}, true, err
	}
	defer resp.Body.Close()
	return t.answer(resp)
}

// Find implements modelgate.Ticketer: a JQL search of the project for the
// promotion's ID in the summary, matched exactly on the title.
func (t *Ticketer) Find(ctx context.Context, in modelgate.Incident) (modelgate.Ticket, bool, error) {
	if err := in.Validate(); err != nil {
		return modelgate.Ticket{}, false, err
	}
	jql := fmt.Sprintf("project = %q AND summary ~ %q ORDER BY created DESC", t.o.Project, strconv.Quote(in.Promotion.ID))
	b, err := json.Marshal(map[string]any{"jql": jql, "fields": []string{"summary"}, "maxResults": 50})
	if err != nil {
		return modelgate.Ticket{}, false, err
	}
	resp, err := t.post(ctx, "/rest/api/3/search/jql", b)
	if err != nil {
		return modelgate.Ticket{}, false, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if resp.StatusCode != http.StatusOK {
		return modelgate.Ticket{}, false, modelgate.Errorf(modelgate.EUNAVAILABLE, "%s: search issues: HTTP %d: %s", t, resp.StatusCode, clip(body))
	}
	var got struct {
		Issues []struct {
			Key    string `json:"key"`
			Fields struct {
				Summary string `json:"summary"`
			} `json:"fields"`
		} `json:"issues"`
	}
	if err := json.Unmarshal(body, &got); err != nil {
		return modelgate.Ticket{}, false, modelgate.Errorf(modelgate.EUNAVAILABLE, "%s: search issues: %v", t, err)
	}
	for _, is := range got.Issues {
		if is.Fields.Summary == in.Title() {
			return modelgate.Ticket{System: "jira", ID: is.Key, URL: t.o.URL + "/browse/" + is.Key}, true, nil
		}
	}
	return modelgate.Ticket{}, false, nil
}

// post sends one authenticated JSON request.
func (t *Ticketer) post(ctx context.Context, path string, body []byte) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.o.URL+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", t.auth)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Content-Type", "application/json")
	resp, err := t.o.Client.Do(req)
	if err != nil {
		return nil, modelgate.Errorf(modelgate.EUNAVAILABLE, "%s: %v", t, err)
	}
	return resp, nil
}

// fields are the issue's fields as Jira's create-issue API takes them.
func (t *Ticketer) fields(in modelgate.Incident) map[string]any {
	f := map[string]any{
		"project":     map[string]string{"key": t.o.Project},
		"issuetype":   map[string]string{"name": t.o.IssueType},
		"summary":     in.Title(),
		"description": adf(lines(in)),
		"labels":      t.o.Labels,
	}
	if !in.PostMortemDue.IsZero() {
		f["duedate"] = in.PostMortemDue.UTC().Format("2006-01-02")
	}
	return f
}

// lines are the description's paragraphs.
func lines(in modelgate.Incident) []string {
	p := in.Promotion
	out := []string{in.Summary,
		fmt.Sprintf("Model %s: version %s rolled back; version %s serves production. Promotion %s, started by %s.", p.Model, p.Version, p.Previous, p.ID, p.Actor)}
	if !in.PostMortemDue.IsZero() {
		out = append(out, "Post-mortem due: "+in.PostMortemDue.UTC().Format("2006-01-02 15:04 UTC")+".")
	}
	if in.Bundle != "" {
		out = append(out, "Evidence (post-mortem bundle): "+in.Bundle)
	}
	if in.ReportPath != "" {
		out = append(out, "Report: "+in.ReportPath)
	}
	for _, r := range p.Reasons {
		out = append(out, "Reason: "+r)
	}
	return out
}

// adf is an Atlassian Document Format document of plain paragraphs.
func adf(paragraphs []string) map[string]any {
	content := make([]map[string]any, 0, len(paragraphs))
	for _, p := range paragraphs {
		content = append(content, map[string]any{"type": "paragraph",
			"content": []map[string]any{{"type": "text", "text": p}}})
	}
	return map[string]any{"type": "doc", "version": 1, "content": content}
}

// answer reads the created issue, or classifies the failure.
func (t *Ticketer) answer(resp *http.Response) (modelgate.Ticket, bool, error) {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode == http.StatusCreated {
		var got struct {
			ID  string `json:"id"`
			Key string `json:"key"`
		}
		if err := json.Unmarshal(body, &got); err != nil || got.Key == "" {
			return modelgate.Ticket{}, false, modelgate.Errorf(modelgate.EINTERNAL, "%s answered 201 without an issue key: %s", t, clip(body))
		}
		return modelgate.Ticket{System: "jira", ID: got.Key, URL: t.o.URL + "/browse/" + got.Key}, false, nil
	}
	msg := fmt.Sprintf("%s refused the issue: HTTP %d: %s", t, resp.StatusCode, clip(body))
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		after, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
		return modelgate.Ticket{}, true, &modelgate.Throttled{Err: modelgate.Errorf(modelgate.EUNAVAILABLE, "%s", msg), After: time.Duration(after) * time.Second}
	case resp.StatusCode >= 500:
		return modelgate.Ticket{}, true, modelgate.Errorf(modelgate.EUNAVAILABLE, "%s", msg)
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return modelgate.Ticket{}, false, modelgate.Errorf(modelgate.EUNAUTHORIZED, "%s", msg)
	}
	return modelgate.Ticket{}, false, modelgate.Errorf(modelgate.EINVALID, "%s", msg)
}

func clip(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}
