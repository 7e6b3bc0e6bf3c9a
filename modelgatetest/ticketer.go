package modelgatetest

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/modelgate/modelgate"
)

// TicketerBehaviour is how the ticket system a ticketer talks to answers.
type TicketerBehaviour int

const (
	TicketsAccepted    TicketerBehaviour = iota // creates every ticket
	TicketsThrottled                            // answers "too many requests" with a short Retry-After
	TicketsServerError                          // answers 500
	TicketsRefused                              // refuses the credentials (401)
	TicketsSlow                                 // answers after the ticketer's request timeout (the subject sets it under 1 s)
)

// TicketerSubject is a ticketer under test and the system it talks to.
type TicketerSubject struct {
	Ticketer modelgate.Ticketer
	// Received returns the tickets the system took, as its reader sees
	// them: the title and all the text a person reads.
	Received func(t *testing.T) []Delivery
	// Secret is a credential no error may show.
	Secret string
}

// TestTicketer runs the ticketer conformance suite: an incident becomes a
// ticket carrying its facts (title, summary, post-mortem due date,
// evidence, reasons) and the ticket's id and URL come back; failures say
// whether a retry may help, and a throttled answer names its wait.
func TestTicketer(t *testing.T, open func(t *testing.T, b TicketerBehaviour) TicketerSubject) {
	t.Run("OpensWithTheFacts", func(t *testing.T) { testOpens(t, open(t, TicketsAccepted)) })
	t.Run("InvalidIncidentNotSent", func(t *testing.T) { testInvalidIncident(t, open(t, TicketsAccepted)) })
	t.Run("ThrottledRecoverableWithItsWait", func(t *testing.T) { testThrottled(t, open(t, TicketsThrottled)) })
	t.Run("ServerErrorRecoverable", func(t *testing.T) { wantTicketFailure(t, open(t, TicketsServerError), true) })
	t.Run("RefusedNotRecoverable", func(t *testing.T) { wantTicketFailure(t, open(t, TicketsRefused), false) })
	t.Run("TimeoutRecoverable", func(t *testing.T) { wantTicketFailure(t, open(t, TicketsSlow), true) })
	t.Run("FindsWhatItOpenedOnly", func(t *testing.T) { testFind(t, open(t, TicketsAccepted)) })
}

// SuiteIncident is the suite's incident: every field a person reads set,
// one line not ASCII.
func SuiteIncident() modelgate.Incident {
	p := &modelgate.Promotion{ID: "20261130-101500-ab12cd34", Model: "demand-forecast", Version: "3", Previous: "2", Actor: "ci-bot",
		Outcome: modelgate.OutcomeRolledBack, Reasons: []string{"The canary forecasts +72.4% against production on average — beyond ±5%."}}
	return modelgate.Incident{Promotion: p, Summary: "demand-forecast version 3 was rolled back during its canary.",
		PostMortemDue: time.Date(2026, 12, 1, 10, 15, 0, 0, time.UTC), Bundle: "/var/lib/modelgate/postmortems/20261130-101500-ab12cd34.tar.gz",
		ReportPath: "/var/lib/modelgate/reports/20261130-101500-ab12cd34.md"}
}

func testOpens(t *testing.T, s TicketerSubject) {
	in := SuiteIncident()
	tk, _, err := s.Ticketer.Open(t.Context(), in)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if tk.System == "" || tk.ID == "" || !strings.HasPrefix(tk.URL, "http") {
		t.Errorf("ticket %+v: want its system, id and URL", tk)
	}
	got := s.Received(t)
	if len(got) != 1 {
		t.Fatalf("the system received %d tickets, want 1", len(got))
	}
	for _, want := range []string{in.Promotion.ID, "demand-forecast", in.Summary, "2026-12-01", in.Bundle, in.ReportPath, "+72.4%", "—"} {
		if !strings.Contains(got[0].Title+"\n"+got[0].Text, want) {
			t.Errorf("the ticket lacks %q:\n%s\n%s", want, got[0].Title, got[0].Text)
		}
	}
}

func testInvalidIncident(t *testing.T, s TicketerSubject) {
	_, _, err := s.Ticketer.Open(t.Context(), modelgate.Incident{Summary: "no promotion"})
	if modelgate.ErrorCode(err) != modelgate.EINVALID {
		t.Errorf("an incident without its promotion: %v, want EINVALID", err)
	}
	if n := len(s.Received(t)); n != 0 {
		t.Errorf("an invalid incident was sent (%d received)", n)
	}
}

func testThrottled(t *testing.T, s TicketerSubject) {
	_, recoverable, err := s.Ticketer.Open(t.Context(), SuiteIncident())
	var th *modelgate.Throttled
	if err == nil || !recoverable || !errors.As(err, &th) || th.After <= 0 {
		t.Fatalf("throttled: recoverable %v, %v; want recoverable with the wait the system asked", recoverable, err)
	}
	wantNoSecret(t, s, err)
}

func wantTicketFailure(t *testing.T, s TicketerSubject, wantRecoverable bool) {
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	_, recoverable, err := s.Ticketer.Open(ctx, SuiteIncident())
	if err == nil || recoverable != wantRecoverable || modelgate.ErrorCode(err) == modelgate.EINTERNAL {
		t.Fatalf("Open: recoverable %v, %v; want a failure with recoverable %v and a code", recoverable, err, wantRecoverable)
	}
	wantNoSecret(t, s, err)
}

func wantNoSecret(t *testing.T, s TicketerSubject, err error) {
	t.Helper()
	if s.Secret != "" && strings.Contains(err.Error(), s.Secret) {
		t.Errorf("the error shows the credential: %v", err)
	}
}

func testFind(t *testing.T, s TicketerSubject) {
	in := SuiteIncident()
	if _, found, err := s.Ticketer.Find(t.Context(), in); err != nil || found {
		t.Fatalf("Find before Open: found %v, %v; want nothing", found, err)
	}
	opened, _, err := s.Ticketer.Open(t.Context(), in)
	if err != nil {
		t.Fatal(err)
	}
	other := SuiteIncident()
	other.Promotion.ID = "20261130-111500-00000000"
	if _, err := func() (modelgate.Ticket, error) { tk, _, err := s.Ticketer.Open(t.Context(), other); return tk, err }(); err != nil {
		t.Fatal(err)
	}
	got, found, err := s.Ticketer.Find(t.Context(), in)
	if err != nil || !found || got != opened {
		t.Fatalf("Find after Open: %+v found %v, %v; want %+v", got, found, err, opened)
	}
}
