package web_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/sqlite"
	"github.com/modelgate/modelgate/web"
)

func TestHandler(t *testing.T) {
	db := sqlite.NewDB(filepath.Join(t.TempDir(), "state.db"))
	if err := db.Open(); err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	store := sqlite.NewPromotionStore(db)
	ctx := context.Background()
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	p := &modelgate.Promotion{ID: "p1", Model: "demand-forecast", Version: "3", Previous: "2", Step: modelgate.StepWindow, StartedAt: now, UpdatedAt: now}
	if err := store.CreatePromotion(ctx, p); err != nil {
		t.Fatal(err)
	}
	rec := &modelgate.StepRecord{PromotionID: "p1", Step: modelgate.StepWindow, StartedAt: now, Outcome: modelgate.ResultRunning}
	if err := rec.SetEvidence(modelgate.WindowEvidence{Looks: 4, Elapsed: "8s", Window: "1m0s", Decision: modelgate.DecisionContinue,
		Judgement: &modelgate.Judgement{Checks: []modelgate.Check{{Name: "prediction_mean", Canary: 262, Production: 145, Verdict: modelgate.VerdictFail}}},
		Figures:   &modelgate.Window{Canary: modelgate.RevisionStats{Requests: 80, Errors: 1}, Stable: modelgate.RevisionStats{Requests: 720}}}); err != nil {
		t.Fatal(err)
	}
	if err := store.SaveStep(ctx, rec); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(web.Handler(store, func(string) bool { return false }))
	defer srv.Close()
	for _, tt := range []struct {
		path   string
		status int
		want   []string
	}{
		{"/", 200, []string{`href="/promotions/p1"`, "running"}},
		// p1 is unfinished and nobody holds its lock: shown as such.
		{"/promotions/p1", 200, []string{"demand-forecast version 3", "<td>prediction_mean</td>", "1.25% errors", `http-equiv="refresh"`,
			"No process is running this promotion", "modelgate abort demand-forecast"}},
		{"/promotions/nope", 404, []string{"not"}},
	} {
		resp, err := http.Get(srv.URL + tt.path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tt.status {
			t.Fatalf("GET %s: status %d, want %d: %s", tt.path, resp.StatusCode, tt.status, body)
		}
		for _, w := range tt.want {
			if !strings.Contains(string(body), w) {
				t.Fatalf("GET %s lacks %q:\n%s", tt.path, w, body)
			}
		}
	}
}
