package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/httpapi"
	"github.com/modelgate/modelgate/promexport/promexporttest"
)

// The tokens every server test accepts.
var testTokens = map[string]httpapi.Identity{
	"viewer-vic-0123456789":   {Name: "vic", Role: httpapi.RoleViewer},
	"operator-olga-012345678": {Name: "olga", Role: httpapi.RoleOperator},
	"approver-ada-0123456789": {Name: "ada", Role: httpapi.RoleApprover},
	"approver-tom-0123456789": {Name: "tom", Role: httpapi.RoleApprover},
}

// tokenOf returns the test token of name.
func tokenOf(name string) string {
	for tok, id := range testTokens {
		if id.Name == name {
			return tok
		}
	}
	return ""
}

// newServerWorld is a cliWorld whose configuration also has a server
// section (listen, a tokens file) and the given canary settings.
func newServerWorld(t *testing.T, canary, listen string) *cliWorld {
	t.Helper()
	w := newCLIWorld(t)
	var tokens strings.Builder
	for tok, id := range testTokens {
		fmt.Fprintf(&tokens, "%s: {name: %s, role: %s}\n", tok, id.Name, id.Role)
	}
	if err := os.WriteFile(filepath.Join(w.dir, "tokens.yaml"), []byte(tokens.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := os.ReadFile(w.config)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(cfg), "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, "canary:") {
			lines[i] = "canary: " + canary
		}
	}
	cfg = []byte(strings.Join(lines, "\n") + fmt.Sprintf("server: {listen: %q, tokens_file: tokens.yaml}\n", listen))
	if err := os.WriteFile(w.config, cfg, 0o644); err != nil {
		t.Fatal(err)
	}
	return w
}

// seed registers v1 (served) and the example's v2 and v3 as candidates.
func (w *cliWorld) seed(t *testing.T) {
	t.Helper()
	full := []string{"git_sha=abc", "dataset_version=d1", "approver=ada"}
	w.register(t, "1", "Production", full...)
	w.register(t, "2", "Staging", full...)
	w.register(t, "3", "Staging", full...)
	w.run(t, 0, "deploy", "demand-forecast", "--version", "1")
}

// startServer runs `modelgate server` in-process on w's configuration
// until the test ends (or stop), and returns its base URL.
func startServer(t *testing.T, w *cliWorld) (string, func()) {
	t.Helper()
	cfg, err := loadConfig(w.config, true)
	if err != nil {
		t.Fatal(err)
	}
	logs := &lockedBuffer{}
	m := &serverMain{cfg: cfg, stderr: logs, progress: func(modelgate.Event) {}, Ready: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	select {
	case <-m.Ready:
	case err := <-done:
		t.Fatalf("server: %v\n%s", err, logs)
	}
	var once bool
	stop := func() {
		if !once {
			once = true
			cancel()
			<-done
			m.Close()
		}
	}
	t.Cleanup(stop)
	return "http://" + m.Addr, stop
}

func client(url, name string) *httpapi.Client { return httpapi.NewClient(url, tokenOf(name)) }

// post sends a raw API call and returns its status.
func post(t *testing.T, url, token, body string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// approveBoth approves version through the API by ada and tom.
func approveBoth(t *testing.T, url, version string) {
	t.Helper()
	for name, role := range map[string]string{"ada": "data_science_lead", "tom": "compliance_officer"} {
		if err := client(url, name).Approve(context.Background(), &modelgate.Approval{Model: "demand-forecast", Version: version, Role: role}); err != nil {
			t.Fatalf("%s approves %s: %v", name, version, err)
		}
	}
}

// promoteThrough starts version through the API as olga and follows it.
func promoteThrough(t *testing.T, url, version string) (*modelgate.Promotion, int) {
	t.Helper()
	ctx := context.Background()
	c := client(url, "olga")
	p, err := c.StartPromotion(ctx, "demand-forecast", version)
	if err != nil {
		t.Fatalf("start %s: %v", version, err)
	}
	events := 0
	end, err := c.FollowPromotion(ctx, p.ID, 0, func(modelgate.Event) { events++ })
	if err != nil {
		t.Fatalf("follow %s: %v", p.ID, err)
	}
	return end, events
}

// The API end to end on the bundled example with the local gateway: v2
// promoted and v3 rolled back through the API, tokens and roles enforced,
// every attempt in the audit trail under the token's name, /metrics lint
// clean.
func TestServer_APIEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("runs two canary windows")
	}
	w := newServerWorld(t, "{percent: 50, window: 8s, interval: 1s, extension: 10s, min_requests: 20}", "127.0.0.1:0")
	w.seed(t)
	traffic, err := startTraffic(context.Background(), w.listen, "demand-forecast", filepath.Join(w.dir, "example", "data", "live_requests.csv"), 150)
	if err != nil {
		t.Fatal(err)
	}
	defer traffic.stop()
	url, _ := startServer(t, w)
	for _, path := range []string{"/healthz", "/readyz"} {
		if resp, err := http.Get(url + path); err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %v %v", path, resp, err)
		} else {
			resp.Body.Close()
		}
	}
	create := url + "/api/v1/promotions"
	if got := post(t, create, "", `{"model":"demand-forecast","version":"2"}`); got != http.StatusUnauthorized {
		t.Fatalf("no token: %d, want 401", got)
	}
	if got := post(t, create, tokenOf("vic"), `{"model":"demand-forecast","version":"2"}`); got != http.StatusForbidden {
		t.Fatalf("a viewer's create: %d, want 403", got)
	}
	if got := post(t, create, tokenOf("olga"), `{"model":"demand-forecast","version":"2"}`); got != http.StatusConflict {
		t.Fatalf("create before the approvals: %d, want 409", got)
	}
	err = client(url, "ada").Approve(context.Background(), &modelgate.Approval{Model: "demand-forecast", Version: "2", Role: "compliance_officer", By: "tom"})
	if modelgate.ErrorCode(err) != modelgate.EUNAUTHORIZED {
		t.Fatalf("ada approving as tom: %v", err)
	}
	approveBoth(t, url, "2")
	if end, events := promoteThrough(t, url, "2"); end.Outcome != modelgate.OutcomePromoted || events == 0 {
		t.Fatalf("v2: %s after %d events, reasons %v", end.Outcome, events, end.Reasons)
	}
	approveBoth(t, url, "3")
	if end, _ := promoteThrough(t, url, "3"); end.Outcome != modelgate.OutcomeRolledBack {
		t.Fatalf("v3: %s, reasons %v", end.Outcome, end.Reasons)
	}
	st, err := client(url, "vic").ModelStatus(context.Background(), "demand-forecast")
	if err != nil || st.Production != "2" || st.Traffic == nil || *st.Traffic != (modelgate.TrafficSplit{Stable: "2"}) {
		t.Fatalf("status: %+v, %v", st, err)
	}
	wantTrail(t, filepath.Join(w.dir, ".modelgate", "audit.jsonl"),
		`"actor":"anonymous","actor_source":"none","action":"api.post.promotions","model":"demand-forecast","version":"2","outcome":"refused"`,
		`"actor":"vic","actor_source":"token:vic","action":"api.post.promotions","model":"demand-forecast","version":"2","outcome":"refused"`,
		`"actor":"olga","actor_source":"token:olga","action":"api.post.promotions","model":"demand-forecast","version":"2","outcome":"failed"`,
		`"actor":"ada","actor_source":"token:ada","action":"api.post.approvals","model":"demand-forecast","version":"2","outcome":"refused"`,
		`"actor":"tom","actor_source":"token:tom","action":"approval","model":"demand-forecast","version":"2","outcome":"approved"`,
		`"actor":"olga","actor_source":"token:olga","action":"step.preconditions","model":"demand-forecast","version":"3"`,
		`"actor":"olga","actor_source":"token:olga","action":"api.post.promotions","model":"demand-forecast","version":"3","promotion_id":"`)
	var verify struct{ OK bool }
	raw, err := client(url, "vic").VerifyAudit(context.Background())
	if err != nil || json.Unmarshal(raw, &verify) != nil || !verify.OK {
		t.Fatalf("audit verify through the API: %s %v", raw, err)
	}
	wantMetrics(t, url, `modelgate_promotions_ended_total{model="demand-forecast",outcome="rolled_back"} 1`,
		`modelgate_gateway_requests_total{arm="stable",model="demand-forecast",version="2"}`,
		`modelgate_api_requests_total{code="403",method="POST",route="/api/v1/promotions"} 1`,
		`modelgate_promotion_step_duration_seconds_bucket{model="demand-forecast",step="window"`)
}

// wantTrail checks the audit trail has a line containing each of want.
func wantTrail(t *testing.T, path string, want ...string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range want {
		if !bytes.Contains(b, []byte(w)) {
			t.Errorf("the audit trail has no entry with %s", w)
		}
	}
}

// wantMetrics checks /metrics passes promlint and `promtool check metrics`
// and has each of want.
func wantMetrics(t *testing.T, url string, want ...string) {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	text, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	promexporttest.Lint(t, text)
	for _, w := range want {
		if !bytes.Contains(text, []byte(w)) {
			t.Errorf("/metrics has no %s", w)
		}
	}
}

// A held promotion accepted, and a running one aborted, through the API.
func TestServer_AcceptAndAbortThroughTheAPI(t *testing.T) {
	if testing.Short() {
		t.Skip("runs canary windows")
	}
	w := newServerWorld(t, "{percent: 50, window: 3s, interval: 1s, extension: 1s, min_requests: 1000000000}", "127.0.0.1:0")
	w.seed(t)
	traffic, err := startTraffic(context.Background(), w.listen, "demand-forecast", filepath.Join(w.dir, "example", "data", "live_requests.csv"), 100)
	if err != nil {
		t.Fatal(err)
	}
	defer traffic.stop()
	url, _ := startServer(t, w)
	ctx := context.Background()
	op := client(url, "olga")
	approveBoth(t, url, "2")
	if end, _ := promoteThrough(t, url, "2"); end.Outcome != modelgate.OutcomeHeld {
		t.Fatalf("v2: %s, want held (too little traffic)", end.Outcome)
	}
	if _, err := op.AcceptPromotion(ctx, "demand-forecast", ""); modelgate.ErrorCode(err) != modelgate.EINVALID {
		t.Fatalf("accept without a reason: %v", err)
	}
	p, err := op.AcceptPromotion(ctx, "demand-forecast", "traffic too low tonight; reviewed")
	if err != nil {
		t.Fatal(err)
	}
	if end, err := op.FollowPromotion(ctx, p.ID, 0, func(modelgate.Event) {}); err != nil || end.Outcome != modelgate.OutcomePromoted {
		t.Fatalf("accepted: %+v, %v", end, err)
	}
	approveBoth(t, url, "3")
	if p, err = op.StartPromotion(ctx, "demand-forecast", "3"); err != nil {
		t.Fatal(err)
	}
	abortInWindow(t, op, p)
	st, err := op.ModelStatus(ctx, "demand-forecast")
	if err != nil || st.Production != "2" || *st.Traffic != (modelgate.TrafficSplit{Stable: "2"}) {
		t.Fatalf("after the abort: %+v, %v", st, err)
	}
	wantTrail(t, filepath.Join(w.dir, ".modelgate", "audit.jsonl"),
		`"actor":"olga","actor_source":"token:olga","action":"promotion.accepted"`,
		`"actor":"olga","actor_source":"token:olga","action":"promotion.aborted"`,
		`"actor":"olga","actor_source":"token:olga","action":"api.post.abort","model":"demand-forecast","version":"3","promotion_id":"`+p.ID+`","outcome":"done"`)
}

// abortInWindow aborts p once its window runs and expects it back on the
// previous version within a few seconds.
func abortInWindow(t *testing.T, op *httpapi.Client, p *modelgate.Promotion) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var aborted time.Time
	end, err := op.FollowPromotion(ctx, p.ID, 0, func(e modelgate.Event) {
		if e.Window != nil && aborted.IsZero() {
			aborted = time.Now()
			if _, err := op.AbortPromotion(ctx, "demand-forecast", "on-call says stop"); err != nil {
				t.Errorf("abort: %v", err)
			}
		}
	})
	if err != nil || end.Outcome != modelgate.OutcomeFailed || !strings.HasPrefix(end.Reasons[0], "Aborted by olga: on-call says stop") {
		t.Fatalf("aborted: %+v, %v", end, err)
	}
	if took := time.Since(aborted); took > 10*time.Second {
		t.Errorf("the abort took %s", took)
	}
}
