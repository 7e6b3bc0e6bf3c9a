package promotion_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/promotion"
	"github.com/modelgate/modelgate/report"
)

// notes records notifications (the engine sends them one at a time).
type notes struct{ sent []modelgate.Notification }

func (n *notes) Notify(_ context.Context, nt modelgate.Notification) (bool, error) {
	n.sent = append(n.sent, nt)
	return false, nil
}

// linkedService configures link templates and a version tag giving the
// PR, a notifier and records.
func linkedService(t *testing.T, w *world) (*promotion.Service, *notes) {
	t.Helper()
	ctx := context.Background()
	mustDo(t, w.reg.SetVersionTag(ctx, model, "2", "link.pr", "https://github.com/acme/forecast/pull/42"))
	mustDo(t, w.reg.SetVersionTag(ctx, model, "2", "pipeline_run", "812"))
	svc := w.service("a")
	svc.Policy.RegistryURI = "http://mlflow:5000/"
	svc.Policy.Links = map[string]string{
		"pipeline":  "https://ci.example.com/{model}/runs/{pipeline_run}?sha={git_sha}",
		"mlflow":    "{registry_uri}/#/models/{model}/versions/{version}",
		"dashboard": "https://grafana.example.com/d/serving?var-model={model}",
		"pr":        "https://github.com/acme/forecast/pulls?q={git_sha}", // the tag wins
		"ticket":    "https://jira.example.com/browse/{approval_ticket}",  // the version has no such tag
	}
	n := &notes{}
	svc.Notifier = n
	svc.Records = report.Files{Changelog: filepath.Join(w.dir, "CHANGELOG.md"), ReportsDir: filepath.Join(w.dir, "reports")}
	return svc, n
}

var wantLinks = modelgate.Links{
	Pipeline:  "https://ci.example.com/demand-forecast/runs/812?sha=abc123",
	MLflow:    "http://mlflow:5000/#/models/demand-forecast/versions/2",
	Dashboard: "https://grafana.example.com/d/serving?var-model=demand-forecast",
	PR:        "https://github.com/acme/forecast/pull/42",
}

// Links are resolved once, at the preconditions, from tags or templates,
// and appear in the report, the changelog entry, every notification and
// the audit entries of the promotion's start and end.
func TestPromote_LinksInEveryRecord(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	svc, n := linkedService(t, w)
	p := run(t, svc, "2")
	steps, err := w.store.Steps(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	pre, _ := modelgate.FindEvidence[modelgate.PreconditionsEvidence](steps)
	if diff := cmp.Diff(wantLinks, pre.Links); diff != "" {
		t.Errorf("preconditions' links (-want +got):\n%s", diff)
	}
	wantNote := "the ticket link is left out: version 2 has no value for approval_ticket in records.links.ticket"
	if len(pre.LinkNotes) != 1 || pre.LinkNotes[0] != wantNote {
		t.Errorf("link notes %q, want %q", pre.LinkNotes, wantNote)
	}
	for _, nt := range n.sent {
		if nt.Links != wantLinks || !strings.Contains(nt.Text(), "- Pull request: https://github.com/acme/forecast/pull/42") {
			t.Errorf("%s notification's links %+v", nt.Kind, nt.Links)
		}
	}
	if len(n.sent) != 2 {
		t.Errorf("%d notifications, want started and promoted", len(n.sent))
	}
	wantFile(t, filepath.Join(w.dir, "reports", p.ID+".md"), "## Links", "- Pipeline run: <https://ci.example.com/demand-forecast/runs/812?sha=abc123>", "- "+wantNote)
	wantFile(t, filepath.Join(w.dir, "CHANGELOG.md"), "- Links: [Pipeline run](https://ci.example.com/demand-forecast/runs/812?sha=abc123), [MLflow](http://mlflow:5000/#/models/demand-forecast/versions/2)")
	text := "links: pipeline https://ci.example.com/demand-forecast/runs/812?sha=abc123, mlflow http://mlflow:5000/#/models/demand-forecast/versions/2, dashboard https://grafana.example.com/d/serving?var-model=demand-forecast, pr https://github.com/acme/forecast/pull/42"
	for _, action := range []string{`"action":"step.preconditions"`, `"action":"promotion.end"`} {
		if !auditHas(t, w, action, text) {
			t.Errorf("no %s audit entry carries the links", action)
		}
	}
}

// A revert has no preconditions: its links are resolved at its rollback.
func TestRollback_RevertLinks(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	svc, _ := linkedService(t, w)
	run(t, svc, "2")
	p, _, err := svc.Rollback(ctx, model, "2", "forecasts too high")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Run(ctx, p); err != nil {
		t.Fatal(err)
	}
	steps, err := w.store.Steps(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(wantLinks, modelgate.LinksOf(steps)); diff != "" {
		t.Errorf("revert's links (-want +got):\n%s", diff)
	}
	if entry := report.Entry(p, steps); !strings.Contains(entry, "[Pull request](https://github.com/acme/forecast/pull/42)") {
		t.Errorf("revert's changelog entry lacks the links:\n%s", entry)
	}
}

func TestCheckLinkTemplate(t *testing.T) {
	for _, ok := range []string{"{registry_uri}/#/models/{model}/versions/{version}", "https://ci/{git_sha}", "https://grafana/d/x?var-model={model}"} {
		if err := promotion.CheckLinkTemplate(ok); err != nil {
			t.Errorf("CheckLinkTemplate(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"ci/{git_sha}", "https://ci/{git sha}", "https://ci/{git_sha", "ftp://x/{model}"} {
		if err := promotion.CheckLinkTemplate(bad); err == nil {
			t.Errorf("CheckLinkTemplate(%q) accepted it", bad)
		}
	}
}

func wantFile(t *testing.T, path string, want ...string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range want {
		if !strings.Contains(string(b), s) {
			t.Errorf("%s lacks %q:\n%s", path, s, b)
		}
	}
}
