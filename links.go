package modelgate

import "strings"

// Links are the pages about one promotion that the playbook's records
// name: the pipeline run that built the version, the version's page in the
// registry (MLflow), the serving dashboard, the pull request and the
// approval ticket. They are resolved once per promotion, at its
// preconditions (a revert: at its rollback), from the version's link.<name>
// tags or the configured URL templates, and shown in every record, report,
// changelog entry, notification and audit entry of the promotion. An
// empty field is not known.
type Links struct {
	Pipeline  string `json:"pipeline,omitempty"`
	MLflow    string `json:"mlflow,omitempty"`
	Dashboard string `json:"dashboard,omitempty"`
	PR        string `json:"pr,omitempty"`
	Ticket    string `json:"ticket,omitempty"`
}

// Link is one of Links, named.
type Link struct {
	Name  string `json:"name"`  // pipeline, mlflow, dashboard, pr or ticket
	Title string `json:"title"` // e.g. "Pipeline run"
	URL   string `json:"url"`
}

// LinkTagPrefix starts the version tags that give a link directly, e.g.
// link.pr=https://github.com/org/repo/pull/42.
const LinkTagPrefix = "link."

// LinkNames are the names of the links, in the order records show them:
// the keys of records.links and of the link.<name> tags.
func LinkNames() []string { return []string{"pipeline", "mlflow", "dashboard", "pr", "ticket"} }

// fields returns pointers to the links' fields by name, with their titles.
func (l *Links) fields() []struct {
	name, title string
	url         *string
} {
	return []struct {
		name, title string
		url         *string
	}{
		{"pipeline", "Pipeline run", &l.Pipeline}, {"mlflow", "MLflow", &l.MLflow}, {"dashboard", "Dashboard", &l.Dashboard},
		{"pr", "Pull request", &l.PR}, {"ticket", "Approval ticket", &l.Ticket},
	}
}

// Set sets the link named name (one of LinkNames); other names are ignored.
func (l *Links) Set(name, url string) {
	for _, f := range l.fields() {
		if f.name == name {
			*f.url = url
		}
	}
}

// List returns the known links in LinkNames' order.
func (l Links) List() []Link {
	var out []Link
	for _, f := range l.fields() {
		if *f.url != "" {
			out = append(out, Link{Name: f.name, Title: f.title, URL: *f.url})
		}
	}
	return out
}

// Text is the known links on one line, "pipeline https://…, pr https://…",
// for audit details; "" when none is known.
func (l Links) Text() string {
	var parts []string
	for _, k := range l.List() {
		parts = append(parts, k.Name+" "+k.URL)
	}
	return strings.Join(parts, ", ")
}

// LinksOf returns a promotion's links from its step records: those its
// preconditions resolved, or a revert's, resolved at its rollback.
func LinksOf(steps []*StepRecord) Links {
	if ev, ok := FindEvidence[PreconditionsEvidence](steps); ok && ev.Links != (Links{}) {
		return ev.Links
	}
	ev, _ := FindEvidence[RollbackEvidence](steps)
	return ev.Links
}
