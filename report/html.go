package report

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"strings"
	"time"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/chart"
)

//go:embed templates/report.html
var htmlTemplates embed.FS

// htmlPage is what the HTML report shows.
type htmlPage struct {
	P       *modelgate.Promotion
	Steps   []htmlStep
	Traffic *modelgate.TrafficSplit
	Smoke   []modelgate.GateRecord
	Window  *modelgate.WindowEvidence
	Charts  []htmlChart
}

// htmlStep is one line of the timeline.
type htmlStep struct {
	*modelgate.StepRecord
	Took string
}

type htmlChart struct {
	Title string
	SVG   template.HTML
}

// HTML renders a promotion's report as one self-contained page: no
// script, no link out; its charts are inline SVG, so it can be mailed,
// archived or opened from disk as it is.
func HTML(p *modelgate.Promotion, steps []*modelgate.StepRecord) ([]byte, error) {
	t, err := template.New("").Funcs(template.FuncMap{"stamp": stamp, "pct": func(v float64) string { return fmt.Sprintf("%.2f%%", 100*v) }}).
		ParseFS(htmlTemplates, "templates/report.html")
	if err != nil {
		return nil, fmt.Errorf("parse the HTML report's template: %w", err)
	}
	page, err := newHTMLPage(p, steps)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if err := t.ExecuteTemplate(&b, "report.html", page); err != nil {
		return nil, fmt.Errorf("render the HTML report of %s: %w", p.ID, err)
	}
	return b.Bytes(), nil
}

func newHTMLPage(p *modelgate.Promotion, steps []*modelgate.StepRecord) (*htmlPage, error) {
	page := &htmlPage{P: p}
	for _, s := range steps {
		page.Steps = append(page.Steps, htmlStep{StepRecord: s, Took: took(s)})
	}
	if c, ok := modelgate.FindEvidence[modelgate.CanaryEvidence](steps); ok {
		page.Traffic = &c.Traffic
	}
	if s, ok := modelgate.FindEvidence[modelgate.SmokeEvidence](steps); ok {
		page.Smoke = s.Gates
	}
	if w, ok := modelgate.FindEvidence[modelgate.WindowEvidence](steps); ok && w.Judgement != nil {
		page.Window = &w
	}
	for _, c := range stepCharts(steps) {
		page.Charts = append(page.Charts, htmlChart{Title: c.Title, SVG: inlineSVG(c)})
	}
	return page, nil
}

// inlineSVG drops the XML prologue a file needs and an HTML page may not
// have. The SVG is drawn by package chart from numbers and fixed titles,
// so it is trusted as markup.
func inlineSVG(c chart.Chart) template.HTML {
	s := string(c.SVG)
	if i := strings.Index(s, "<svg"); i > 0 {
		s = s[i:]
	}
	return template.HTML(s)
}

func took(s *modelgate.StepRecord) string {
	if s.EndedAt.IsZero() {
		return ""
	}
	return s.EndedAt.Sub(s.StartedAt).Round(time.Second).String()
}
