package promotion_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/report"
	"github.com/modelgate/modelgate/web"
)

// TestEvidence_ReadersReadWhatTheEngineWrites runs a promoted and a
// rolled-back promotion, then reads every step record strictly (a field the
// engine writes that the evidence type does not declare is an error) and
// renders the report, the changelog entry and the web view from the same
// records: if a writer and a reader drift apart, this fails.
func TestEvidence_ReadersReadWhatTheEngineWrites(t *testing.T) {
	for _, tc := range []struct {
		version string
		outcome modelgate.Outcome
		last    modelgate.Step
	}{{"2", modelgate.OutcomePromoted, modelgate.StepBaseline}, {"3", modelgate.OutcomeRolledBack, modelgate.StepRollback}} {
		t.Run(string(tc.outcome), func(t *testing.T) {
			w := newWorld(t)
			p := run(t, w.service("a"), tc.version)
			if p.Outcome != tc.outcome {
				t.Fatalf("outcome %s, want %s", p.Outcome, tc.outcome)
			}
			steps, err := w.store.Steps(context.Background(), p.ID)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range steps {
				wantEvidence(t, r)
			}
			checkReaders(t, w, p, steps)
		})
	}
}

// wantEvidence decodes one record strictly and checks the figures each
// reader depends on are there.
func wantEvidence(t *testing.T, r *modelgate.StepRecord) {
	t.Helper()
	e, err := r.DecodeEvidenceStrict()
	if err != nil || e == nil {
		t.Fatalf("%s: %v (evidence %s)", r.Step, err, r.Evidence)
	}
	if e.Step() != r.Step {
		t.Fatalf("%s record holds %T", r.Step, e)
	}
	missing := ""
	switch ev := e.(type) {
	case *modelgate.PreconditionsEvidence:
		if ev.Version == nil || ev.Version.Tags["git_sha"] == "" || ev.Previous == "" {
			missing = "version tags or previous"
		}
	case *modelgate.VerifyEvidence:
		if ev.Candidate == nil || ev.Candidate.Digest == "" || ev.Previous == nil {
			missing = "digests"
		}
	case *modelgate.StagingEvidence:
		if ev.Endpoint.URL == "" {
			missing = "endpoint"
		}
	case *modelgate.SmokeEvidence:
		if len(ev.Gates) == 0 || ev.Gates[0].Name == "" {
			missing = "gates"
		}
	case *modelgate.WindowEvidence:
		if ev.Looks == 0 || ev.Judgement == nil || len(ev.Judgement.Checks) == 0 || ev.Figures == nil || ev.Figures.Canary.Requests == 0 {
			missing = "looks, checks or figures"
		}
	case *modelgate.DecisionEvidence:
		if ev.Decision == "" || len(ev.Checks) == 0 || len(ev.Reasons) == 0 {
			missing = "decision, checks or reasons"
		}
	case *modelgate.BaselineEvidence:
		if ev.Baseline == nil || ev.Baseline.Requests == 0 {
			missing = "baseline figures"
		}
	case *modelgate.RollbackEvidence:
		if ev.Archived == "" || ev.Traffic.Stable == "" {
			missing = "archived version or traffic"
		}
	}
	if missing != "" {
		t.Errorf("%s evidence lacks %s: %s", r.Step, missing, r.Evidence)
	}
}

// checkReaders renders every human-facing view of the promotion and looks
// for what only the typed evidence carries.
func checkReaders(t *testing.T, w *world, p *modelgate.Promotion, steps []*modelgate.StepRecord) {
	t.Helper()
	win, _ := modelgate.FindEvidence[modelgate.WindowEvidence](steps)
	firstCheck := win.Judgement.Checks[0].Name
	md := report.Markdown(p, steps)
	if !strings.Contains(md, "## Canary against production") || !strings.Contains(md, "| "+firstCheck+" |") {
		t.Errorf("report lacks the window's checks:\n%s", md)
	}
	if entry := report.Entry(p, steps); !strings.Contains(entry, "git_sha `abc123`") {
		t.Errorf("changelog entry lacks the version's tags:\n%s", entry)
	}
	rec := httptest.NewRecorder()
	web.Handler(w.store, nil).ServeHTTP(rec, httptest.NewRequest("GET", "/promotions/"+p.ID, nil))
	if body := rec.Body.String(); rec.Code != 200 || !strings.Contains(body, "<td>"+firstCheck+"</td>") {
		t.Errorf("web view (%d) lacks the window's checks:\n%s", rec.Code, body)
	}
}
