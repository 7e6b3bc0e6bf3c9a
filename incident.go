package modelgate

import (
	"context"
	"errors"
	"time"
)

// Incident is what a rollback opens a ticket for (the playbook's rollback
// procedure: an incident, the evidence collected, a post-mortem within a
// day).
type Incident struct {
	Promotion *Promotion
	// Summary says in plain words what was rolled back and why.
	Summary string
	// PostMortemDue is when the post-mortem should be held.
	PostMortemDue time.Time
	// Bundle is the post-mortem bundle (an archive of the evidence);
	// ReportPath the promotion's report.
	Bundle, ReportPath string
}

// Validate reports whether in can be opened.
func (in Incident) Validate() error {
	if in.Promotion == nil {
		return Errorf(EINVALID, "an incident needs its promotion")
	}
	if in.Summary == "" {
		return Errorf(EINVALID, "incident of promotion %s has no summary", in.Promotion.ID)
	}
	return nil
}

// Title is the ticket's one-line title.
func (in Incident) Title() string {
	p := in.Promotion
	return "Rollback of " + p.Model + " version " + p.Version + " (promotion " + p.ID + ")"
}

// Ticket names an opened incident ticket.
type Ticket struct {
	System string `json:"system"` // e.g. "github", "jira"
	ID     string `json:"id"`     // the system's key: an issue number, "OPS-123"
	URL    string `json:"url"`
}

// Ticketer opens incident tickets. Like a Notifier it is best-effort: a
// failure is logged, audited and retried, never a reason to stop or undo a
// rollback. Implementations: github, jira.
type Ticketer interface {
	// Open opens the incident's ticket; recoverable says whether trying
	// again may succeed.
	Open(ctx context.Context, in Incident) (t Ticket, recoverable bool, err error)
	// Find returns the incident's ticket when one was opened already (by
	// its title, which names the promotion), so a process that crashed
	// after opening it does not open a second one.
	Find(ctx context.Context, in Incident) (t Ticket, found bool, err error)
}

// Throttled is a recoverable failure whose server said when to try again
// (an HTTP 429 or 403 with Retry-After or a rate-limit reset); retries wait
// at least After.
type Throttled struct {
	Err   error
	After time.Duration
}

func (e *Throttled) Error() string { return e.Err.Error() }
func (e *Throttled) Unwrap() error { return e.Err }

// retryAfter is how long err's server asked to wait, 0 when it did not.
func retryAfter(err error) time.Duration {
	var t *Throttled
	if errors.As(err, &t) {
		return t.After
	}
	return 0
}

// PostMortem is what a rolled-back promotion's post-mortem bundle holds.
type PostMortem struct {
	Promotion *Promotion
	Steps     []*StepRecord
	// Audit is the promotion's audit entries, for the timeline.
	Audit []AuditEntry
	// Config is the effective configuration (secrets are never in it: the
	// configuration names environment variables and files).
	Config []byte
	Due    time.Time
	// Ticket is the incident ticket, once opened.
	Ticket *Ticket
}

// PostMortems writes a post-mortem bundle as a directory and an archive.
// It must be idempotent per promotion. Implementations: report.Files.
type PostMortems interface {
	PostMortem(ctx context.Context, pm PostMortem) (dir, archive string, err error)
}
