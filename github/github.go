package github

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/modelgate/modelgate"
)

// Options configure a Ticketer.
type Options struct {
	Repo     string        // "owner/name"
	TokenEnv string        // environment variable holding the token; default GITHUB_TOKEN
	APIURL   string        // default https://api.github.com (GitHub Enterprise: https://HOST/api/v3)
	Labels   []string      // labels for the issue; default [incident, modelgate]
	Timeout  time.Duration // one request; default 30s
	Client   *http.Client  // default a new client with Timeout
	Now      func() time.Time
}

// Ticketer opens GitHub issues.
type Ticketer struct {
	o     Options
	token string
}

var _ modelgate.Ticketer = (*Ticketer)(nil)

// New checks the options and reads the token; it does not connect.
func New(o Options) (*Ticketer, error) {
	if owner, name, ok := strings.Cut(o.Repo, "/"); !ok || owner == "" || name == "" || strings.Contains(name, "/") {
		return nil, modelgate.Errorf(modelgate.EINVALID, "incidents.github.repo: want owner/name, got %q", o.Repo)
	}
	if o.TokenEnv == "" {
		o.TokenEnv = "GITHUB_TOKEN"
	}
	token := os.Getenv(o.TokenEnv)
	if token == "" {
		return nil, modelgate.Errorf(modelgate.EINVALID, "incidents.github: no token: set $%s", o.TokenEnv)
	}
	if o.APIURL == "" {
		o.APIURL = "https://api.github.com"
	}
	o.APIURL = strings.TrimRight(o.APIURL, "/")
	if o.Labels == nil {
		o.Labels = []string{"incident", "modelgate"}
	}
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Second
	}
	if o.Client == nil {
		o.Client = &http.Client{Timeout: o.Timeout}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Ticketer{o: o, token: token}, nil
}

// String names the ticketer without secrets.
func (t *Ticketer) String() string { return "github " + t.o.Repo }

type issue struct {
	Title  string   `json:"title"`
	Body   string   `json:"body"`
	Labels []string `json:"labels,omitempty"`
}

// Open implements modelgate.Ticketer.
func (t *Ticketer) Open(ctx context.Context, in modelgate.Incident) (modelgate.Ticket, bool, error) {
	if err := in.Validate(); err != nil {
		return modelgate.Ticket{}, false, err
	}
	b, err := json.Marshal(issue{Title: in.Title(), Body: Body(in), Labels: t.o.Labels})
	if err != nil {
		return modelgate.Ticket{}, false, err
	}
	resp, err := t.do(ctx, http.MethodPost, "/repos/"+t.o.Repo+"/issues", bytes.NewReader(b))
	if err != nil {
		return modelgate.Ticket{}, true, err
	}
	defer resp.Body.Close()
	return t.answer(resp)
}

// Find implements modelgate.Ticketer: it looks through the repository's
// most recent issues with the first label for one with the incident's
// title (the issues API, not search, which lags behind new issues).
func (t *Ticketer) Find(ctx context.Context, in modelgate.Incident) (modelgate.Ticket, bool, error) {
	if err := in.Validate(); err != nil {
		return modelgate.Ticket{}, false, err
	}
	q := url.Values{"state": {"all"}, "per_page": {"100"}, "sort": {"created"}, "direction": {"desc"}}
	if len(t.o.Labels) > 0 {
		q.Set("labels", t.o.Labels[0])
	}
	resp, err := t.do(ctx, http.MethodGet, "/repos/"+t.o.Repo+"/issues?"+q.Encode(), nil)
	if err != nil {
		return modelgate.Ticket{}, false, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if resp.StatusCode != http.StatusOK {
		return modelgate.Ticket{}, false, modelgate.Errorf(modelgate.EUNAVAILABLE, "%s: list issues: HTTP %d: %s", t, resp.StatusCode, clip(body))
	}
	var issues []struct {
		Number  int    `json:"number"`
		Title   string `json:"title"`
		HTMLURL string `json:"html_url"`
	}
	if err := json.Unmarshal(body, &issues); err != nil {
		return modelgate.Ticket{}, false, modelgate.Errorf(modelgate.EUNAVAILABLE, "%s: list issues: %v", t, err)
	}
	for _, is := range issues {
		if is.Title == in.Title() {
			return modelgate.Ticket{System: "github", ID: strconv.Itoa(is.Number), URL: is.HTMLURL}, true, nil
		}
	}
	return modelgate.Ticket{}, false, nil
}

// do sends one authenticated API request.
func (t *Ticketer) do(ctx context.Context, method, path string, body io.Reader) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, t.o.APIURL+path, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+t.token)
	req.Header.Set("Accept", "application/vnd.github+json")
	req.Header.Set("X-GitHub-Api-Version", "2022-11-28")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("User-Agent", "modelgate")
	resp, err := t.o.Client.Do(req)
	if err != nil {
		return nil, modelgate.Errorf(modelgate.EUNAVAILABLE, "%s: %v", t, err)
	}
	return resp, nil
}

// answer reads the created issue, or classifies the failure.
func (t *Ticketer) answer(resp *http.Response) (modelgate.Ticket, bool, error) {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode == http.StatusCreated {
		var got struct {
			Number  int    `json:"number"`
			HTMLURL string `json:"html_url"`
		}
		if err := json.Unmarshal(body, &got); err != nil || got.Number == 0 {
			return modelgate.Ticket{}, false, modelgate.Errorf(modelgate.EINTERNAL, "%s answered 201 without an issue: %s", t, clip(body))
		}
		return modelgate.Ticket{System: "github", ID: strconv.Itoa(got.Number), URL: got.HTMLURL}, false, nil
	}
	msg := fmt.Sprintf("%s refused the issue: HTTP %d: %s", t, resp.StatusCode, clip(body))
	if after, limited := t.throttled(resp, body); limited {
		return modelgate.Ticket{}, true, &modelgate.Throttled{Err: modelgate.Errorf(modelgate.EUNAVAILABLE, "%s", msg), After: after}
	}
	if resp.StatusCode >= 500 {
		return modelgate.Ticket{}, true, modelgate.Errorf(modelgate.EUNAVAILABLE, "%s", msg)
	}
	return modelgate.Ticket{}, false, modelgate.Errorf(modelgate.EUNAUTHORIZED, "%s", msg)
}

// throttled reads GitHub's rate limiting: 429, or 403 with no requests
// left or a secondary-limit message; the wait from Retry-After or the
// reset time.
func (t *Ticketer) throttled(resp *http.Response, body []byte) (time.Duration, bool) {
	limited := resp.StatusCode == http.StatusTooManyRequests ||
		resp.StatusCode == http.StatusForbidden && (resp.Header.Get("X-Ratelimit-Remaining") == "0" || bytes.Contains(body, []byte("secondary rate limit")))
	if !limited {
		return 0, false
	}
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil {
		return time.Duration(s) * time.Second, true
	}
	if reset, err := strconv.ParseInt(resp.Header.Get("X-Ratelimit-Reset"), 10, 64); err == nil {
		return max(time.Unix(reset, 0).Sub(t.o.Now()), 0), true
	}
	return time.Minute, true // GitHub's advice without a hint: wait at least a minute
}

// Body is the issue's Markdown body.
func Body(in modelgate.Incident) string {
	var b strings.Builder
	p := in.Promotion
	fmt.Fprintf(&b, "%s\n\n", in.Summary)
	fmt.Fprintf(&b, "- Model: `%s`, version %s rolled back; version %s serves production.\n", p.Model, p.Version, p.Previous)
	fmt.Fprintf(&b, "- Promotion: `%s`, started by %s.\n", p.ID, p.Actor)
	if !in.PostMortemDue.IsZero() {
		fmt.Fprintf(&b, "- **Post-mortem due: %s.**\n", in.PostMortemDue.UTC().Format("2006-01-02 15:04 UTC"))
	}
	if in.Bundle != "" {
		fmt.Fprintf(&b, "- Evidence (post-mortem bundle): `%s`\n", in.Bundle)
	}
	if in.ReportPath != "" {
		fmt.Fprintf(&b, "- Report: `%s`\n", in.ReportPath)
	}
	if len(p.Reasons) > 0 {
		b.WriteString("\n## Reasons\n\n")
		for _, r := range p.Reasons {
			fmt.Fprintf(&b, "- %s\n", r)
		}
	}
	return b.String()
}

func clip(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}
