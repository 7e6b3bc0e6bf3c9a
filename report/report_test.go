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

// The report and the changelog entry show the links; the report also the
// approvals that counted and the monitoring check.
func TestMarkdown_LinksApprovalsMonitoring(t *testing.T) {
	p, steps := promotion("c", "4", modelgate.OutcomePromoted)
	at := time.Date(2026, 11, 26, 9, 30, 0, 0, time.UTC)
	_ = steps[0].SetEvidence(modelgate.PreconditionsEvidence{
		Version:   &modelgate.ModelVersion{Tags: map[string]string{"git_sha": "abc"}},
		Approvals: []*modelgate.Approval{{Role: "compliance_officer", By: "tom", At: at}, {Role: "data_science_lead", By: "ada", At: at}},
		Links:     modelgate.Links{Pipeline: "https://ci.example.com/runs/812", Ticket: "https://jira.example.com/browse/OPS-7"},
		LinkNotes: []string{"the pr link is left out: version 4 has no value for pr_number in records.links.pr"},
		Monitoring: &modelgate.MonitoringEvidence{Mode: "warn", Checks: []modelgate.MonitoringCheck{
			{Name: "alert rules", Status: modelgate.MonitoringMissing, Detail: "no PrometheusRule mlops/demand-forecast-modelgate"}}},
	})
	md := report.Markdown(p, steps)
	for _, want := range []string{
		"## Links\n\n- Pipeline run: <https://ci.example.com/runs/812>\n- Approval ticket: <https://jira.example.com/browse/OPS-7>\n- the pr link is left out",
		"### Approvals\n\n- compliance_officer: tom, 2026-11-26 09:30Z\n- data_science_lead: ada, 2026-11-26 09:30Z\n",
		"### Monitoring\n\n- preconditions.monitoring: warn\n- missing alert rules: no PrometheusRule mlops/demand-forecast-modelgate\n",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}
	if e := report.Entry(p, steps); !strings.Contains(e, "- Links: [Pipeline run](https://ci.example.com/runs/812), [Approval ticket](https://jira.example.com/browse/OPS-7).\n") {
		t.Errorf("changelog entry lacks the links:\n%s", e)
	}
}
