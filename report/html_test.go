package report_test

import (
	"strings"
	"testing"
	"time"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/report"
)

// The HTML report stands alone: its charts are inline SVG and it has no
// script and no link to fetch.
func TestHTML_SelfContained(t *testing.T) {
	p, steps := promotion("a", "2", modelgate.OutcomePromoted)
	at := p.StartedAt
	win := &modelgate.StepRecord{Step: modelgate.StepWindow, StartedAt: at, EndedAt: at.Add(2 * time.Minute), Outcome: modelgate.ResultPromote}
	ev := modelgate.WindowEvidence{Elapsed: "2m", Window: "2m", Decision: modelgate.DecisionPromote,
		Judgement: &modelgate.Judgement{Checks: []modelgate.Check{{Name: "error_rate", Unit: "rate", Canary: 0.01, Limit: 0.02, Verdict: modelgate.VerdictPass,
			Summary: "The canary fails no more often than production <b>."}}}}
	for i := range 3 {
		f := modelgate.PointFigures{Requests: int64(10 * (i + 1)), ErrorRate: 0.01, P95MS: 20}
		ev.Series = append(ev.Series, modelgate.SeriesPoint{At: at.Add(time.Duration(i) * time.Minute), Canary: f, Production: f})
	}
	if err := win.SetEvidence(ev); err != nil {
		t.Fatal(err)
	}
	smoke := &modelgate.StepRecord{Step: modelgate.StepSmoke, Outcome: modelgate.ResultOK}
	_ = smoke.SetEvidence(modelgate.SmokeEvidence{Gates: []modelgate.GateRecord{{Name: "schema", GateResult: modelgate.GateResult{Passed: true, Summary: "10 of 10 answered"}}}})
	page, err := report.HTML(p, []*modelgate.StepRecord{steps[0], smoke, win})
	if err != nil {
		t.Fatal(err)
	}
	html := string(page)
	for _, want := range []string{"<svg", "<td>error_rate</td>", "1.00%", "&lt;b&gt;", "10 of 10 answered", "<td>2m0s</td>", "because"} {
		if !strings.Contains(html, want) {
			t.Errorf("the report lacks %q", want)
		}
	}
	for _, bad := range []string{"<script", "<?xml", "src=", "href="} {
		if strings.Contains(html, bad) {
			t.Errorf("the report has %q", bad)
		}
	}
}
