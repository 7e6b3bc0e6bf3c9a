package report

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/chart"
)

var _ modelgate.PostMortems = Files{}

// PostMortem implements modelgate.PostMortems: the bundle is the directory
// PostMortemsDir/<id> (README.md with the summary, timeline, figures over
// time and the lessons-learned section to fill in; evidence.json;
// audit.jsonl; figures.csv and charts; logs.txt; config.yaml) and the
// archive PostMortemsDir/<id>.tar.gz of it. Writing it again replaces it.
func (f Files) PostMortem(ctx context.Context, pm modelgate.PostMortem) (string, string, error) {
	if f.PostMortemsDir == "" {
		return "", "", nil
	}
	p := pm.Promotion
	dir := filepath.Join(f.PostMortemsDir, p.ID)
	files, err := bundleFiles(pm)
	if err != nil {
		return "", "", err
	}
	tmp := dir + ".partial"
	if err := os.RemoveAll(tmp); err != nil {
		return "", "", fmt.Errorf("post-mortem bundle: %w", err)
	}
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return "", "", fmt.Errorf("post-mortem bundle: %w", err)
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(tmp, name), b, 0o644); err != nil {
			return "", "", fmt.Errorf("post-mortem bundle: %w", err)
		}
	}
	// Replace the directory whole, so a reader never sees half a bundle.
	if err := os.RemoveAll(dir); err != nil {
		return "", "", fmt.Errorf("post-mortem bundle: %w", err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		return "", "", fmt.Errorf("post-mortem bundle: %w", err)
	}
	archive := dir + ".tar.gz"
	b, err := tarGz(p.ID, files, p.StartedAt)
	if err != nil {
		return "", "", err
	}
	if err := writeAtomic(archive, b); err != nil {
		return "", "", err
	}
	return dir, archive, nil
}

// bundleFiles are the bundle's files by name.
func bundleFiles(pm modelgate.PostMortem) (map[string][]byte, error) {
	p := pm.Promotion
	files := map[string][]byte{}
	ev, err := json.MarshalIndent(map[string]any{"promotion": p, "steps": pm.Steps, "post_mortem_due": pm.Due}, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode evidence: %w", err)
	}
	files["evidence.json"] = ev
	var audit bytes.Buffer
	for _, e := range pm.Audit {
		b, _ := json.Marshal(e)
		audit.Write(append(b, '\n'))
	}
	files["audit.jsonl"] = audit.Bytes()
	files["config.yaml"] = pm.Config
	if len(pm.Config) == 0 {
		files["config.yaml"] = []byte("# the configuration was not recorded\n")
	}
	files["logs.txt"] = []byte(logExcerpts(pm.Steps))
	files["figures.csv"] = figuresCSV(pm.Steps)
	charts := stepCharts(pm.Steps)
	for _, c := range charts {
		files[c.Name] = c.SVG
	}
	files["README.md"] = []byte(postMortemMarkdown(pm, charts))
	return files, nil
}

// stepCharts draws the canary window's and the bake's figures over time.
func stepCharts(steps []*modelgate.StepRecord) []chart.Chart {
	var out []chart.Chart
	if w, ok := modelgate.FindEvidence[modelgate.WindowEvidence](steps); ok && len(w.Series) > 0 {
		out = append(out, chart.Series("window_", w.Series[0].At, w.Series)...)
	}
	if b, ok := modelgate.FindEvidence[modelgate.BakeEvidence](steps); ok && len(b.Series) > 0 {
		out = append(out, chart.Series("bake_", b.Started, b.Series)...)
	}
	return out
}

func postMortemMarkdown(pm modelgate.PostMortem, charts []chart.Chart) string {
	p := pm.Promotion
	var b strings.Builder
	fmt.Fprintf(&b, "# Post-mortem: %s version %s rolled back\n\n", p.Model, p.Version)
	fmt.Fprintf(&b, "- Promotion `%s`, started %s by %s; version %s serves production again.\n", p.ID, stamp(p.StartedAt), p.Actor, p.Previous)
	fmt.Fprintf(&b, "- **Post-mortem due: %s.**\n", stamp(pm.Due))
	if t := pm.Ticket; t != nil {
		fmt.Fprintf(&b, "- Incident ticket: %s\n", t.URL)
	}
	b.WriteString("\n")
	writeList(&b, "Why it was rolled back", p.Reasons)
	b.WriteString("## Timeline\n\n| time (UTC) | what | outcome | by | detail |\n|---|---|---|---|---|\n")
	for _, t := range timeline(pm) {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", t.at.UTC().Format("2006-01-02 15:04:05"), t.what, t.outcome, cell(t.by), cell(clip(t.detail, 200)))
	}
	b.WriteString("\n## Figures over time\n\nEvery look's figures are in `figures.csv`.\n\n")
	for _, c := range charts {
		fmt.Fprintf(&b, "![%s](%s)\n\n", c.Title, c.Name)
	}
	b.WriteString("## Files\n\n- `evidence.json`: the promotion and every step's evidence.\n- `audit.jsonl`: the promotion's audit entries (check the whole trail with `modelgate audit verify`).\n" +
		"- `logs.txt`: serving log excerpts per revision, where the platform gives them.\n- `config.yaml`: the effective configuration.\n\n")
	b.WriteString(lessonsLearned)
	return b.String()
}

// lessonsLearned is the section the post-mortem fills in (the playbook's
// "lessons learned documented if rollback occurred").
const lessonsLearned = `## Lessons learned (to fill in at the post-mortem)

- **What happened**, in the users' terms:
- **Why the gates before the canary did not catch it** (verification, staging, smoke tests, evaluation):
- **What changes**, with an owner and a date for each:
- **Next promotion date** (if one is planned):
`

type event struct {
	at                        time.Time
	what, outcome, by, detail string
}

// timeline merges the steps and the audit entries in time order.
func timeline(pm modelgate.PostMortem) []event {
	var out []event
	for _, s := range pm.Steps {
		out = append(out, event{at: s.StartedAt, what: "step " + string(s.Step) + " began"})
		if !s.EndedAt.IsZero() {
			out = append(out, event{at: s.EndedAt, what: "step " + string(s.Step) + " ended", outcome: string(s.Outcome)})
		}
	}
	for _, e := range pm.Audit {
		out = append(out, event{at: e.Time, what: e.Action, outcome: e.Outcome, by: e.Actor, detail: e.Detail})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].at.Before(out[j].at) })
	return out
}

// figuresCSV is every look of the window and the bake, one row each.
func figuresCSV(steps []*modelgate.StepRecord) []byte {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	_ = w.Write([]string{"phase", "at", "arm", "requests", "error_rate", "p95_ms", "prediction_mean", "predictions"})
	row := func(phase string, at time.Time, arm string, f modelgate.PointFigures) {
		_ = w.Write([]string{phase, at.UTC().Format(time.RFC3339), arm, strconv.FormatInt(f.Requests, 10), num(f.ErrorRate), num(f.P95MS), num(f.PredictionMean), strconv.FormatInt(f.Predictions, 10)})
	}
	if ev, ok := modelgate.FindEvidence[modelgate.WindowEvidence](steps); ok {
		for _, pt := range ev.Series {
			row("window", pt.At, "canary", pt.Canary)
			row("window", pt.At, "production", pt.Production)
		}
	}
	if ev, ok := modelgate.FindEvidence[modelgate.BakeEvidence](steps); ok {
		for _, pt := range ev.Series {
			row("bake", pt.At, "production", pt.Production)
		}
	}
	w.Flush()
	return b.Bytes()
}

// logExcerpts are the serving logs the rollback and the window recorded.
func logExcerpts(steps []*modelgate.StepRecord) string {
	var b strings.Builder
	write := func(from string, logs []modelgate.RevisionLogs, problem string) {
		for _, l := range logs {
			fmt.Fprintf(&b, "=== %s: revision %s (version %s), pods %s: %d lines read, %d errors, %d warnings; the last:\n%s\n",
				from, l.Revision, l.Version, strings.Join(l.Pods, ", "), l.Lines, l.Errors, l.Warnings, strings.Join(l.Last, "\n"))
		}
		if problem != "" {
			fmt.Fprintf(&b, "=== %s: logs could not be read: %s\n", from, problem)
		}
	}
	if ev, ok := modelgate.FindEvidence[modelgate.RollbackEvidence](steps); ok {
		write("at the rollback", ev.Logs, ev.LogsError)
	}
	if ev, ok := modelgate.FindEvidence[modelgate.WindowEvidence](steps); ok {
		write("at the window's last look", ev.Logs, ev.LogsError)
	}
	if b.Len() == 0 {
		return "The platform gave no serving logs (the local gateway keeps none; on KServe they come from the predictor pods).\n"
	}
	return b.String()
}

func tarGz(root string, files map[string][]byte, mtime time.Time) ([]byte, error) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		h := &tar.Header{Name: root + "/" + n, Mode: int64(fs.FileMode(0o644)), Size: int64(len(files[n])), ModTime: mtime, Typeflag: tar.TypeReg}
		if err := tw.WriteHeader(h); err != nil {
			return nil, fmt.Errorf("archive the post-mortem bundle: %w", err)
		}
		if _, err := tw.Write(files[n]); err != nil {
			return nil, fmt.Errorf("archive the post-mortem bundle: %w", err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("archive the post-mortem bundle: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("archive the post-mortem bundle: %w", err)
	}
	return buf.Bytes(), nil
}

func stamp(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") }

func num(v float64) string { return strconv.FormatFloat(v, 'g', 6, 64) }

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
