package modelgate

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"
)

// Notification kinds: the moments the playbook announces.
const (
	NotifyStarted    = "started"     // the promotion began (deployment start)
	NotifyPromoted   = "promoted"    // the new version serves 100% (deployment complete)
	NotifyRolledBack = "rolled_back" // the canary was judged worse; production is back on the previous version
	NotifyFailed     = "failed"      // an error or a failed gate ended the promotion
	NotifyHeld       = "held"        // the promotion waits for a person
	NotifyAlert      = "alert"       // an alert fired during the bake (one that does not roll back)
	NotifySummary    = "summary"     // a daily summary of a new production version against its baseline
)

// Notification is one announcement of a promotion's progress to people
// (e-mail, chat). It is a copy of the facts, never a source of them: the
// audit trail and the reports are the record.
type Notification struct {
	Kind       string     // one of the Notify* kinds
	Promotion  *Promotion // the promotion announced; required
	Summary    string     // one or two sentences for a person, e.g. the decision
	Details    []string   // further lines: metrics, checks, what to do next
	ReportPath string     // the promotion's report, where there is one (the incident link)
	ReportHTML string     // the same report as one self-contained HTML page with its charts
	Links      Links      // the promotion's links (pipeline run, MLflow, dashboard, PR, ticket); zero when none are known
}

// Validate reports whether n can be sent.
func (n Notification) Validate() error {
	switch n.Kind {
	case NotifyStarted, NotifyPromoted, NotifyRolledBack, NotifyFailed, NotifyHeld, NotifyAlert, NotifySummary:
	default:
		return Errorf(EINVALID, "invalid notification kind %q: must be one of started, promoted, rolled_back, failed, held, alert, summary", n.Kind)
	}
	if n.Promotion == nil {
		return Errorf(EINVALID, "notification %s has no promotion", n.Kind)
	}
	return nil
}

// Title is a one-line headline, e.g. "demand-forecast v3 rolled back".
func (n Notification) Title() string {
	what := map[string]string{
		NotifyStarted:    "promotion started",
		NotifyPromoted:   "promoted",
		NotifyRolledBack: "rolled back",
		NotifyFailed:     "promotion failed",
		NotifyHeld:       "promotion held for a person",
	}[n.Kind]
	if what == "" {
		what = n.Kind
	}
	if n.Promotion == nil {
		return "modelgate " + what
	}
	return fmt.Sprintf("%s v%s %s", n.Promotion.Model, n.Promotion.Version, what)
}

// Text is the plain-text body every channel can send: title, summary,
// the promotion's facts, its reasons, the details, the links and the report
// path.
func (n Notification) Text() string {
	var b strings.Builder
	b.WriteString(n.Title() + ".\n")
	if n.Summary != "" {
		b.WriteString("\n" + n.Summary + "\n")
	}
	if p := n.Promotion; p != nil {
		fmt.Fprintf(&b, "\nPromotion %s of %s version %s", p.ID, p.Model, p.Version)
		if p.Previous != "" {
			fmt.Fprintf(&b, " (previous production version %s)", p.Previous)
		}
		b.WriteString(".\n")
		if p.Actor != "" {
			fmt.Fprintf(&b, "Actor: %s\n", p.Actor)
		}
		if p.Error != "" {
			fmt.Fprintf(&b, "Error: %s\n", p.Error)
		}
		writeList(&b, "Reasons", p.Reasons)
	}
	writeList(&b, "Details", n.Details)
	var links []string
	for _, l := range n.Links.List() {
		links = append(links, l.Title+": "+l.URL)
	}
	writeList(&b, "Links", links)
	if n.ReportPath != "" {
		fmt.Fprintf(&b, "\nReport: %s\n", n.ReportPath)
	}
	if n.ReportHTML != "" {
		fmt.Fprintf(&b, "Report with charts (HTML): %s\n", n.ReportHTML)
	}
	return b.String()
}

func writeList(b *strings.Builder, title string, lines []string) {
	if len(lines) == 0 {
		return
	}
	b.WriteString("\n" + title + ":\n")
	for _, l := range lines {
		b.WriteString("- " + l + "\n")
	}
}

// Notifier announces promotions to people. Notifications are best-effort:
// a failure is logged, counted and retried, never a reason to stop or undo a
// step (the audit trail is the mandatory record). Implementations: smtp,
// webhook; Notifiers fans out to several.
type Notifier interface {
	// Notify sends n. On failure, recoverable says whether trying again
	// may succeed (a timeout, a refused connection, a 4xx SMTP reply, an
	// HTTP 429 or 5xx) or not (bad credentials, a rejected recipient).
	Notify(ctx context.Context, n Notification) (recoverable bool, err error)
}

// Notifiers sends every notification to all of its notifiers.
type Notifiers []Notifier

// Retry says how Notifiers retries a recoverable failure. The zero value
// means the defaults.
type Retry struct {
	Attempts   int                                              // tries per notifier, the first included; default 3
	Backoff    time.Duration                                    // wait before the second try, doubled after each; default 1s
	MaxBackoff time.Duration                                    // the longest wait; default 10s
	Sleep      func(ctx context.Context, d time.Duration) error // default a timer honouring ctx
	Logger     *slog.Logger                                     // failed tries are logged here; default slog.Default()
}

// Notify is NotifyRetry with the default Retry.
func (ns Notifiers) Notify(ctx context.Context, n Notification) (bool, error) {
	return ns.NotifyRetry(ctx, n, Retry{})
}

// NotifyRetry sends n to every notifier concurrently, retrying each one's
// recoverable failures with exponential backoff while ctx allows. It
// returns the failures that remain joined with errors.Join (each naming its
// notifier), and recoverable true when every one of them was recoverable.
// An invalid n is sent to none.
func (ns Notifiers) NotifyRetry(ctx context.Context, n Notification, r Retry) (bool, error) {
	if err := n.Validate(); err != nil {
		return false, err
	}
	errs := make([]error, len(ns))
	rec := make([]bool, len(ns))
	var wg sync.WaitGroup
	for i, nt := range ns {
		if nt == nil {
			continue
		}
		wg.Go(func() { rec[i], errs[i] = r.notify(ctx, i, nt, n) })
	}
	wg.Wait()
	recoverable := true
	for i, err := range errs {
		if err != nil && !rec[i] {
			recoverable = false
		}
	}
	err := errors.Join(errs...)
	return err != nil && recoverable, err
}

// notify sends n through one notifier, retrying recoverable failures.
func (r Retry) notify(ctx context.Context, i int, nt Notifier, n Notification) (bool, error) {
	return r.Do(ctx, notifierName(i, nt), func() (bool, error) { return nt.Notify(ctx, n) })
}

// Do calls try until it succeeds, fails for good, or has used the attempts,
// backing off exponentially (at least as long as a Throttled failure asks)
// while ctx allows. It returns the last failure, named, and whether it was
// recoverable. Ticketing uses it as notifications do.
func (r Retry) Do(ctx context.Context, name string, try func() (recoverable bool, err error)) (bool, error) {
	attempts, wait := r.Attempts, r.Backoff
	if attempts <= 0 {
		attempts = 3
	}
	if wait <= 0 {
		wait = time.Second
	}
	wait = min(wait, r.maxBackoff())
	for n := 1; ; n++ {
		recoverable, err := try()
		if err == nil {
			return false, nil
		}
		r.logger().Warn("attempt failed", "what", name, "attempt", n, "recoverable", recoverable, "err", err)
		if !recoverable || n >= attempts {
			return recoverable, fmt.Errorf("%s: %w", name, err)
		}
		if serr := r.sleep(ctx, max(wait, retryAfter(err))); serr != nil {
			return false, fmt.Errorf("%s: %w (retry stopped: %w)", name, err, serr)
		}
		wait = min(2*wait, r.maxBackoff())
	}
}

// notifierName names a notifier in errors and logs: its String() when it
// has one (adapters name their target without secrets), else its type.
func notifierName(i int, nt Notifier) string {
	return fmt.Sprintf("notifier %d (%s)", i, notifierLabel(nt))
}

// notifierLabel is the notifier's String(), else its type.
func notifierLabel(nt Notifier) string {
	if s, ok := nt.(fmt.Stringer); ok {
		return s.String()
	}
	return fmt.Sprintf("%T", nt)
}

func (r Retry) maxBackoff() time.Duration {
	if r.MaxBackoff > 0 {
		return r.MaxBackoff
	}
	return 10 * time.Second
}

func (r Retry) logger() *slog.Logger {
	if r.Logger != nil {
		return r.Logger
	}
	return slog.Default()
}

func (r Retry) sleep(ctx context.Context, d time.Duration) error {
	if r.Sleep != nil {
		return r.Sleep(ctx, d)
	}
	return Sleep(ctx, d)
}

// Sleep waits d, or until ctx ends (returning its error): the one wait that
// honours cancellation, for everything that backs off or paces itself.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// probeTimeout bounds one notifier's dry check.
const probeTimeout = 10 * time.Second

// Probe checks, sending nothing, whether each notifier can reach its
// destination: a Prober's dry check, else skipped with a note saying it
// offers none.
func (ns Notifiers) Probe(ctx context.Context) []MonitoringCheck {
	out := make([]MonitoringCheck, len(ns))
	var wg sync.WaitGroup
	for i, nt := range ns {
		out[i] = MonitoringCheck{Name: "notifier " + notifierLabel(nt)}
		p, ok := nt.(Prober)
		if !ok {
			out[i].Status, out[i].Detail = MonitoringSkipped, "it offers no dry check, so its reachability is not known before it is used"
			continue
		}
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(ctx, probeTimeout)
			defer cancel()
			if err := p.Probe(ctx); err != nil {
				out[i].Status, out[i].Detail = MonitoringMissing, "unreachable: "+ErrorMessage(err)
				return
			}
			out[i].Status, out[i].Detail = MonitoringOK, "reachable (dry check: nothing sent)"
		})
	}
	wg.Wait()
	return out
}
