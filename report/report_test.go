package report_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/report"
)

func promotion(id, version string, o modelgate.Outcome) (*modelgate.Promotion, []*modelgate.StepRecord) {
	t := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	p := &modelgate.Promotion{ID: id, Model: "demand-forecast", Version: version, Previous: "1", Outcome: o, StartedAt: t, EndedAt: t.Add(time.Hour), Reasons: []string{"because"}}
	pre := &modelgate.StepRecord{Step: modelgate.StepPreconditions}
	_ = pre.SetEvidence(modelgate.PreconditionsEvidence{Version: &modelgate.ModelVersion{Tags: map[string]string{"git_sha": "abc"}}})
	win := &modelgate.StepRecord{Step: modelgate.StepWindow}
	_ = win.SetEvidence(modelgate.WindowEvidence{Elapsed: "30m", Window: "30m", Decision: modelgate.DecisionPromote,
		Judgement: &modelgate.Judgement{Checks: []modelgate.Check{{Name: "error_rate", Verdict: modelgate.VerdictPass}}},
		Figures:   &modelgate.Window{Canary: modelgate.RevisionStats{Requests: 10}}})
	return p, []*modelgate.StepRecord{pre, win}
}

func TestFiles_ChangelogNewestFirstAndOnce(t *testing.T) {
	dir := t.TempDir()
	f := report.Files{Changelog: filepath.Join(dir, "CHANGELOG.md"), ReportsDir: filepath.Join(dir, "reports")}
	p2, s2 := promotion("a", "2", modelgate.OutcomePromoted)
	p3, s3 := promotion("b", "3", modelgate.OutcomeRolledBack)
	for _, w := range []struct {
		p *modelgate.Promotion
		s []*modelgate.StepRecord
	}{{p2, s2}, {p3, s3}, {p3, s3}} {
		if err := f.Write(context.Background(), w.p, w.s); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(f.Changelog)
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	if !strings.HasPrefix(text, "# Changelog") {
		t.Fatalf("no header:\n%s", text)
	}
	i3, i2 := strings.Index(text, "## [demand-forecast 3]"), strings.Index(text, "## [demand-forecast 2]")
	if i3 < 0 || i2 < 0 || i3 > i2 {
		t.Fatalf("entries missing or not newest first:\n%s", text)
	}
	if strings.Count(text, "## [demand-forecast 3]") != 1 {
		t.Fatalf("entry written twice:\n%s", text)
	}
	md, err := os.ReadFile(f.ReportPath("a"))
	if err != nil || !strings.Contains(string(md), "| error_rate |") {
		t.Fatalf("report lacks the checks table: %v\n%s", err, md)
	}
}
