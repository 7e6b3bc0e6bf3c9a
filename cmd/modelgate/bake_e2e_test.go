package main

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// The test binary doubles as an external model server for the bake's
// end-to-end test: with MODELGATE_FAKE_SERVER=1, TestFakeModelServerProcess
// serves V1 on MODELGATE_FAKE_PORT and predicts from the example's inputs,
// and answers 500 to every prediction once the file MODELGATE_FAKE_FAULT
// exists: a regression injected into a running version.
func TestFakeModelServerProcess(t *testing.T) {
	if os.Getenv("MODELGATE_FAKE_SERVER") == "" {
		t.Skip("helper process for the bake's end-to-end test")
	}
	name, fault := os.Getenv("MODELGATE_FAKE_NAME"), os.Getenv("MODELGATE_FAKE_FAULT")
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/models/"+name, func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(`{"ready":true}`)) })
	mux.HandleFunc("POST /v1/models/"+name+":predict", func(w http.ResponseWriter, r *http.Request) {
		if _, err := os.Stat(fault); err == nil {
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = w.Write([]byte(`{"error":"the feature store answers garbage"}`))
			return
		}
		var req struct{ Instances []map[string]any }
		_ = json.NewDecoder(r.Body).Decode(&req)
		preds := []float64{}
		for _, in := range req.Instances {
			store, _ := in["store_id"].(float64)
			promo, _ := in["promo"].(float64)
			preds = append(preds, 120+float64(int(store)%9)*4+30*promo)
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"predictions": preds})
	})
	l, err := net.Listen("tcp", "127.0.0.1:"+os.Getenv("MODELGATE_FAKE_PORT"))
	if err != nil {
		os.Exit(4)
	}
	_ = http.Serve(l, mux)
	os.Exit(0)
}

// issueReceiver is GitHub's issues API as far as the incident ticket
// uses it, checking what the documentation requires: a bearer token, a
// JSON body with a title. It answers 429 with Retry-After first, to prove
// the retry.
type issueReceiver struct {
	mu       sync.Mutex
	created  []map[string]any
	throttle int
}

func (g *issueReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if r.Header.Get("Authorization") != "Bearer gh-test-token" {
		http.Error(w, `{"message":"Bad credentials"}`, http.StatusUnauthorized)
		return
	}
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/repos/acme/forecast/issues":
		_ = json.NewEncoder(w).Encode([]any{})
	case r.Method == http.MethodPost && r.URL.Path == "/repos/acme/forecast/issues":
		if g.throttle > 0 {
			g.throttle--
			w.Header().Set("Retry-After", "1")
			http.Error(w, `{"message":"secondary rate limit"}`, http.StatusTooManyRequests)
			return
		}
		var body map[string]any
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body["title"] == nil || body["title"] == "" {
			http.Error(w, `{"message":"Validation Failed"}`, http.StatusUnprocessableEntity)
			return
		}
		g.created = append(g.created, body)
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, `{"number":%d,"html_url":"https://github.test/acme/forecast/issues/%d"}`, len(g.created), len(g.created))
	default:
		http.NotFound(w, r)
	}
}

func (g *issueReceiver) issues() []map[string]any {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]map[string]any(nil), g.created...)
}

// A regression after the rollout on the local platform: v2 is promoted and
// baking; its model server starts failing every prediction; the bake's
// watcher, killed once and started again, rolls production back to v1
// with an incident ticket (through one 429) and a post-mortem bundle.
func TestBake_RegressionAfterRolloutRollsBack(t *testing.T) {
	gh := &issueReceiver{throttle: 1}
	ghSrv := httptest.NewServer(gh)
	t.Cleanup(ghSrv.Close)
	t.Setenv("MODELGATE_TEST_GITHUB_TOKEN", "gh-test-token")
	dir := t.TempDir()
	fault := filepath.Join(dir, "fault-2")
	external := fmt.Sprintf(`, external: {demand-forecast: {protocol: v1, name: demand-forecast, ready_timeout: 30s, command: [/usr/bin/env, "MODELGATE_FAKE_SERVER=1", "MODELGATE_FAKE_PORT={port}", "MODELGATE_FAKE_NAME=demand-forecast", "MODELGATE_FAKE_FAULT=%s-{version}", %q, "-test.run=^TestFakeModelServerProcess$"]}}`,
		filepath.Join(dir, "fault"), os.Args[0])
	more := fmt.Sprintf(`bake: {duration: 10m, first_hour: 10m}
alerts: {for: 4s, min_requests: 20}
incidents: {post_mortem_due: 24h, github: {repo: acme/forecast, token_env: MODELGATE_TEST_GITHUB_TOKEN, api_url: %q}}
`, ghSrv.URL)
	w := newDrillWorldWith(t, "{percent: 50, window: 6s, interval: 1s, extension: 6s, min_requests: 20}", external, more)
	v := w.candidate(t)

	out := w.cli(t, 0, "promote", "demand-forecast", "--version", v)
	if !strings.Contains(out, "PROMOTED, baking until") || !strings.Contains(out, "modelgate bake demand-forecast --watch") {
		t.Fatalf("promote's answer while the bake goes on:\n%s", out)
	}
	if st := w.cli(t, 0, "bake", "demand-forecast"); !strings.Contains(st, "nobody watches it") {
		t.Fatalf("bake shows no warning that nobody watches:\n%s", st)
	}
	if st := w.cli(t, 0, "status", "demand-forecast"); !strings.Contains(st, "baking until") || !strings.Contains(st, "is baking and nobody watches it") {
		t.Fatalf("status does not show the bake:\n%s", st)
	}

	if err := os.WriteFile(fault, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	// The first watcher is killed at its first look; the second resumes.
	if code, _, errs := w.run([]string{drillCrashEnv + "=bake"}, "bake", "demand-forecast", "--watch"); code != -1 {
		t.Fatalf("the watcher was not killed at the bake: exit %d\n%s", code, errs)
	}
	code, out, errs := w.run(nil, "bake", "demand-forecast", "--watch")
	if code != exitRolledBack || !strings.Contains(out, "an alert fired (ModelErrorRateHigh)") {
		t.Fatalf("bake --watch: exit %d, want %d\n%s%s", code, exitRolledBack, out, errs)
	}
	t.Logf("rolled back %s after the regression began (alerts.for 4s)", time.Since(start).Round(time.Second))
	w.wantProduction(t, "1")

	issues := gh.issues()
	if len(issues) != 1 || !strings.Contains(fmt.Sprint(issues[0]["body"]), "Post-mortem due") {
		t.Fatalf("incident tickets: %v", issues)
	}
	bundles, _ := filepath.Glob(filepath.Join(w.dir, ".modelgate", "postmortems", "*.tar.gz"))
	if len(bundles) != 1 {
		t.Fatalf("post-mortem archives: %v", bundles)
	}
	readme, err := os.ReadFile(strings.TrimSuffix(bundles[0], ".tar.gz") + "/README.md")
	if err != nil || !strings.Contains(string(readme), "https://github.test/acme/forecast/issues/1") {
		t.Fatalf("the bundle's README does not name the ticket: %v\n%s", err, readme)
	}
	trail, err := os.ReadFile(filepath.Join(w.dir, ".modelgate", "audit.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"action":"incident.ticket_opened"`, `"action":"promotion.resumed"`} {
		if !strings.Contains(string(trail), want) {
			t.Errorf("the audit trail lacks %s", want)
		}
	}
}
