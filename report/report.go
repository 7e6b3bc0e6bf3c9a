package report

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/modelgate/modelgate"
)

// Files writes the changelog and the reports to files.
type Files struct {
	Changelog  string // path of CHANGELOG.md; "" writes none
	ReportsDir string // directory of <promotion-id>.md and .json; "" writes none
	// PostMortemsDir holds the post-mortem bundles of rollbacks; "" writes
	// none.
	PostMortemsDir string
}

// Write implements promotion.Records.
func (f Files) Write(ctx context.Context, p *modelgate.Promotion, steps []*modelgate.StepRecord) error {
	if f.ReportsDir != "" {
		if err := f.writeReport(p, steps); err != nil {
			return err
		}
	}
	if f.Changelog != "" && (p.Outcome == modelgate.OutcomePromoted || p.Outcome == modelgate.OutcomeRolledBack || p.Outcome == modelgate.OutcomeReverted) {
		return f.writeChangelog(p, steps)
	}
	return nil
}

// ReportPath returns where the Markdown report of a promotion is written.
func (f Files) ReportPath(id string) string { return filepath.Join(f.ReportsDir, id+".md") }

func (f Files) writeReport(p *modelgate.Promotion, steps []*modelgate.StepRecord) error {
	if err := os.MkdirAll(f.ReportsDir, 0o755); err != nil {
		return fmt.Errorf("create reports directory: %w", err)
	}
	doc := map[string]any{"promotion": p, "steps": steps}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return fmt.Errorf("encode report: %w", err)
	}
	if err := writeAtomic(filepath.Join(f.ReportsDir, p.ID+".json"), b); err != nil {
		return err
	}
	for _, c := range stepCharts(steps) {
		if err := writeAtomic(filepath.Join(f.ReportsDir, p.ID+"."+c.Name), c.SVG); err != nil {
			return err
		}
	}
	page, err := HTML(p, steps)
	if err != nil {
		return err
	}
	if err := writeAtomic(filepath.Join(f.ReportsDir, p.ID+".html"), page); err != nil {
		return err
	}
	return writeAtomic(f.ReportPath(p.ID), []byte(markdown(p, steps, p.ID+".")))
}

func writeAtomic(path string, b []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	_, err = f.Write(b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp, 0o644)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// Markdown renders a promotion's report, without its charts.
func Markdown(p *modelgate.Promotion, steps []*modelgate.StepRecord) string {
	return markdown(p, steps, "")
}

// markdown renders the report; with chartPrefix it shows the charts
// written beside it as <chartPrefix><chart name>.
func markdown(p *modelgate.Promotion, steps []*modelgate.StepRecord, chartPrefix string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Promotion %s: %s version %s\n\n", p.ID, p.Model, p.Version)
	fmt.Fprintf(&b, "- Outcome: **%s**\n- Previous production version: %s\n- Started: %s by %s\n- Ended: %s\n",
		p.Outcome, p.Previous, p.StartedAt.UTC().Format("2006-01-02 15:04:05Z"), p.Actor, p.EndedAt.UTC().Format("2006-01-02 15:04:05Z"))
	if p.AuditAnchor != "" {
		fmt.Fprintf(&b, "- Audit anchor: `%s` (check the trail with `modelgate audit verify PATH --anchor %s`)\n", p.AuditAnchor, p.AuditAnchor)
	}
	b.WriteString("\n")
	writeLinks(&b, steps)
	writePreconditions(&b, steps)
	if len(p.Reasons) > 0 {
		b.WriteString("## Reasons\n\n")
		for _, r := range p.Reasons {
			fmt.Fprintf(&b, "- %s\n", r)
		}
		b.WriteString("\n")
	}
	writeIncident(&b, steps)
	if w, ok := modelgate.FindEvidence[modelgate.WindowEvidence](steps); ok && w.Figures != nil && w.Judgement != nil {
		writeChecks(&b, w)
		writeBaseline(&b, p, w)
	}
	writeBake(&b, steps)
	if chartPrefix != "" {
		writeCharts(&b, steps, chartPrefix)
	}
	if p.Outcome == modelgate.OutcomeRolledBack || p.Outcome == modelgate.OutcomeReverted {
		b.WriteString(lessonsLearned + "\n")
	}
	b.WriteString("## Steps\n\n| step | started | ended | outcome |\n|---|---|---|---|\n")
	for _, s := range steps {
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", s.Step, s.StartedAt.UTC().Format("15:04:05"), ended(s), s.Outcome)
	}
	return b.String()
}

func ended(s *modelgate.StepRecord) string {
	if s.EndedAt.IsZero() {
		return "-"
	}
	return s.EndedAt.UTC().Format("15:04:05")
}

func writeChecks(b *strings.Builder, j modelgate.WindowEvidence) {
	fmt.Fprintf(b, "## Canary against production\n\nWindow %s of %s, decision **%s**; canary %d requests (%d errors), production %d requests (%d errors).\n\n",
		j.Elapsed, j.Window, j.Decision, j.Figures.Canary.Requests, j.Figures.Canary.Errors, j.Figures.Stable.Requests, j.Figures.Stable.Errors)
	b.WriteString("| check | canary | production | allowed | verdict | what it means |\n|---|---|---|---|---|---|\n")
	for _, c := range j.Judgement.Checks {
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s |\n", c.Name, c.CanaryText(), c.ProductionText(), c.LimitText(), c.Verdict, cell(c.Summary))
	}
	b.WriteString("\n")
	writeList(b, "What this window could detect", planLines(j.Plan))
	writeList(b, "Not judged", j.Judgement.NotJudged)
}

// planLines are the power plan's sentences, warnings last.
func planLines(p *modelgate.PowerPlan) []string {
	if p == nil {
		return nil
	}
	return append(append([]string(nil), p.Lines...), p.Warnings...)
}

func writeList(b *strings.Builder, title string, lines []string) {
	if len(lines) == 0 {
		return
	}
	fmt.Fprintf(b, "### %s\n\n", title)
	for _, l := range lines {
		fmt.Fprintf(b, "- %s\n", l)
	}
	b.WriteString("\n")
}

// cell keeps text inside one Markdown table cell.
func cell(s string) string { return strings.ReplaceAll(s, "|", "\\|") }

// writeLinks lists the promotion's links, and why a configured one is
// missing.
func writeLinks(b *strings.Builder, steps []*modelgate.StepRecord) {
	var lines []string
	for _, l := range modelgate.LinksOf(steps).List() {
		lines = append(lines, fmt.Sprintf("%s: <%s>", l.Title, l.URL))
	}
	if pre, ok := modelgate.FindEvidence[modelgate.PreconditionsEvidence](steps); ok {
		lines = append(lines, pre.LinkNotes...)
	}
	if len(lines) == 0 {
		return
	}
	b.WriteString("## Links\n\n")
	for _, l := range lines {
		fmt.Fprintf(b, "- %s\n", l)
	}
	b.WriteString("\n")
}

// writePreconditions lists the approvals that counted and what the
// monitoring check found.
func writePreconditions(b *strings.Builder, steps []*modelgate.StepRecord) {
	pre, ok := modelgate.FindEvidence[modelgate.PreconditionsEvidence](steps)
	if !ok {
		return
	}
	var approvals []string
	for _, a := range pre.Approvals {
		approvals = append(approvals, fmt.Sprintf("%s: %s, %s", a.Role, a.By, a.At.UTC().Format("2006-01-02 15:04Z")))
	}
	writeList(b, "Approvals", approvals)
	if m := pre.Monitoring; m != nil {
		lines := []string{"preconditions.monitoring: " + m.Mode}
		for _, c := range m.Checks {
			lines = append(lines, fmt.Sprintf("%s %s: %s", c.Status, c.Name, c.Detail))
		}
		writeList(b, "Monitoring", lines)
	}
}
