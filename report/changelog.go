package report

import (
	"fmt"
	"os"
	"strings"
	"syscall"

	"github.com/modelgate/modelgate"
)

const changelogHeader = `# Changelog

All notable changes to the models serving production are recorded here by modelgate.
The format is based on [Keep a Changelog](https://keepachangelog.com/en/1.1.0/).
`

func marker(id string) string { return "<!-- modelgate promotion " + id + " -->" }

// writeChangelog inserts the promotion's entry above the newest one, once.
func (f Files) writeChangelog(p *modelgate.Promotion, steps []*modelgate.StepRecord) error {
	// Promotions of different models may finish at once: one writer at a time.
	lock, err := os.OpenFile(f.Changelog+".lock", os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("lock changelog: %w", err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("lock changelog: %w", err)
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)
	old, err := os.ReadFile(f.Changelog)
	if err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("read changelog: %w", err)
	}
	text := string(old)
	if strings.Contains(text, marker(p.ID)) {
		return nil
	}
	if strings.TrimSpace(text) == "" {
		text = changelogHeader
	}
	entry := Entry(p, steps)
	head, rest := text, ""
	if i := strings.Index(text, "\n## "); i >= 0 {
		head, rest = text[:i+1], text[i+1:]
	}
	out := strings.TrimRight(head, "\n") + "\n\n" + entry + "\n" + rest
	return writeAtomic(f.Changelog, []byte(out))
}

// Entry renders one changelog entry.
func Entry(p *modelgate.Promotion, steps []*modelgate.StepRecord) string {
	var b strings.Builder
	date := p.EndedAt.UTC().Format("2006-01-02")
	rb, _ := modelgate.FindEvidence[modelgate.RollbackEvidence](steps)
	switch p.Outcome {
	case modelgate.OutcomePromoted:
		fmt.Fprintf(&b, "## [%s %s] - %s\n\n### Changed\n\n", p.Model, p.Version, date)
		fmt.Fprintf(&b, "- %s version %s serves production, replacing version %s.\n", p.Model, p.Version, p.Previous)
	case modelgate.OutcomeReverted:
		fmt.Fprintf(&b, "## [%s %s] - %s [YANKED]\n\n### Removed\n\n", p.Model, p.Version, date)
		fmt.Fprintf(&b, "- %s version %s was reverted after promotion; version %s serves production again.\n", p.Model, p.Version, p.Previous)
	default:
		fmt.Fprintf(&b, "## [%s %s] - %s [YANKED]\n\n### Removed\n\n", p.Model, p.Version, date)
		fmt.Fprintf(&b, "- %s version %s was rolled back during its canary; version %s serves production.\n", p.Model, p.Version, p.Previous)
	}
	writeTags(&b, p.Version, versionTags(steps, rb))
	if rb.PreviousTags != nil {
		writeTags(&b, p.Previous, rb.PreviousTags)
	}
	for _, r := range p.Reasons {
		fmt.Fprintf(&b, "- %s\n", r)
	}
	if links := modelgate.LinksOf(steps).List(); len(links) > 0 {
		var md []string
		for _, l := range links {
			md = append(md, fmt.Sprintf("[%s](%s)", l.Title, l.URL))
		}
		fmt.Fprintf(&b, "- Links: %s.\n", strings.Join(md, ", "))
	}
	fmt.Fprintf(&b, "- Promotion `%s` (report `%s.md`).\n%s\n", p.ID, p.ID, marker(p.ID))
	return b.String()
}

func writeTags(b *strings.Builder, version string, tags map[string]string) {
	fmt.Fprintf(b, "- Version %s: git_sha `%s`, dataset_version `%s`, approver %s.\n", version,
		tags[modelgate.TagGitSHA], tags[modelgate.TagDatasetVersion], tags[modelgate.TagApprover])
}

// versionTags are the promoted version's tags: from its preconditions, or
// for a revert (which has none) from its rollback record.
func versionTags(steps []*modelgate.StepRecord, rb modelgate.RollbackEvidence) map[string]string {
	if ev, ok := modelgate.FindEvidence[modelgate.PreconditionsEvidence](steps); ok && ev.Version != nil {
		return ev.Version.Tags
	}
	if rb.VersionTags != nil {
		return rb.VersionTags
	}
	return map[string]string{}
}
