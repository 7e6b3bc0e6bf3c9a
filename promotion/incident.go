package promotion

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/modelgate/modelgate"
)

// ticketTimeout bounds the ticket's opening, retries included.
const ticketTimeout = 3 * time.Minute

// ticketAction is the action around the ticket's opening: its state holds
// the ticket once opened, so a resume neither loses nor repeats it.
const ticketAction = "incident_ticket"

// incident is the rollback procedure after a judged rollback: the
// post-mortem bundle and its due date, then the incident ticket. Both are
// best-effort: a failure is recorded, logged and audited, and never undoes
// or stops the rollback.
func (s *Service) incident(ctx context.Context, p *modelgate.Promotion) error {
	rec, err := s.beginStep(ctx, p, modelgate.StepIncident, nil)
	if err != nil {
		return err
	}
	ev := incidentEvidence(rec)
	if ev.Due.IsZero() {
		ev.Due = s.now().Add(s.postMortemDue())
		if err := s.saveEvidence(ctx, rec, modelgate.ResultRunning, ev); err != nil {
			return err
		}
	}
	ev.BundleDir, ev.Bundle, ev.BundleError = s.postMortemBundle(ctx, p, ev.Due, nil)
	ev.Ticket, ev.TicketError = s.openTicket(ctx, p, ev)
	if ev.Ticket != nil && ev.BundleError == "" {
		// The ticket names the bundle; the bundle, written again, names the
		// ticket.
		ev.BundleDir, ev.Bundle, ev.BundleError = s.postMortemBundle(ctx, p, ev.Due, ev.Ticket)
	}
	msg := "incident: post-mortem due " + ev.Due.UTC().Format("2006-01-02 15:04 UTC")
	if ev.Ticket != nil {
		msg += ", ticket " + ev.Ticket.URL
	}
	if ev.Bundle != "" {
		msg += ", evidence in " + ev.Bundle
	}
	s.emit(p, msg, nil)
	return s.complete(ctx, p, rec, modelgate.ResultOK, ev)
}

func (s *Service) postMortemDue() time.Duration {
	if s.Policy.PostMortemDue > 0 {
		return s.Policy.PostMortemDue
	}
	return 24 * time.Hour
}

// postMortemBundle writes the bundle; a failure is returned as text for
// the record.
func (s *Service) postMortemBundle(ctx context.Context, p *modelgate.Promotion, due time.Time, ticket *modelgate.Ticket) (dir, archive, problem string) {
	if s.PostMortems == nil {
		return "", "", ""
	}
	steps, err := s.Store.Steps(ctx, p.ID)
	if err != nil {
		return "", "", "read steps: " + err.Error()
	}
	pm := modelgate.PostMortem{Promotion: p, Steps: steps, Config: s.EffectiveConfig, Due: due, Ticket: ticket}
	if r, ok := s.Audit.(modelgate.AuditReader); ok {
		if pm.Audit, err = r.Entries(ctx, p.ID); err != nil {
			s.logger().Warn("post-mortem bundle without the audit timeline", "promotion", p.ID, "err", err)
		}
	}
	dir, archive, err = s.PostMortems.PostMortem(ctx, pm)
	if err != nil {
		s.logger().Warn("cannot write the post-mortem bundle", "promotion", p.ID, "err", err)
		s.auditBestEffort(ctx, p, "incident.bundle_failed", "failed", nil, err.Error())
		return "", "", modelgate.ErrorMessage(err)
	}
	return dir, archive, ""
}

// openTicket opens the incident ticket once: the ticket is kept in the
// action's state, and a ticket opened before a crash but not recorded is
// found again by the ticketer instead of opened twice.
func (s *Service) openTicket(ctx context.Context, p *modelgate.Promotion, ev modelgate.IncidentEvidence) (*modelgate.Ticket, string) {
	if s.Ticketer == nil {
		return nil, ""
	}
	if t, err := s.recordedTicket(ctx, p); err != nil || t != nil {
		return t, errText(err)
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ticketTimeout)
	defer cancel()
	in := s.incidentOf(p, ev)
	if t, ok, err := s.Ticketer.Find(ctx, in); err == nil && ok {
		return s.saveTicket(ctx, p, t)
	}
	if err := s.Store.SetAction(ctx, p.ID, ticketAction, modelgate.ActionIntent); err != nil {
		return nil, err.Error()
	}
	var t modelgate.Ticket
	_, err := s.retry().Do(ctx, "incident ticket", func() (bool, error) {
		var recoverable bool
		var err error
		t, recoverable, err = s.Ticketer.Open(ctx, in)
		return recoverable, err
	})
	if err != nil {
		s.logger().Warn("cannot open the incident ticket", "promotion", p.ID, "err", err)
		s.auditBestEffort(ctx, p, "incident.ticket_failed", "failed", nil, err.Error())
		return nil, modelgate.ErrorMessage(err)
	}
	return s.saveTicket(ctx, p, t)
}

func (s *Service) recordedTicket(ctx context.Context, p *modelgate.Promotion) (*modelgate.Ticket, error) {
	state, err := s.Store.ActionState(ctx, p.ID, ticketAction)
	if err != nil || !strings.HasPrefix(state, "{") {
		return nil, err
	}
	var t modelgate.Ticket
	if err := json.Unmarshal([]byte(state), &t); err != nil {
		return nil, fmt.Errorf("read the recorded ticket: %w", err)
	}
	return &t, nil
}

func (s *Service) saveTicket(ctx context.Context, p *modelgate.Promotion, t modelgate.Ticket) (*modelgate.Ticket, string) {
	if err := s.Store.SetAction(ctx, p.ID, ticketAction, string(mustJSON(t))); err != nil {
		return &t, "the ticket was opened but not recorded: " + err.Error()
	}
	s.auditBestEffort(ctx, p, "incident.ticket_opened", "opened", mustJSON(t), t.URL)
	return &t, ""
}

// incidentOf is the incident the ticket describes.
func (s *Service) incidentOf(p *modelgate.Promotion, ev modelgate.IncidentEvidence) modelgate.Incident {
	in := modelgate.Incident{Promotion: p, PostMortemDue: ev.Due, Bundle: ev.Bundle,
		Summary: fmt.Sprintf("%s version %s was rolled back; version %s serves production again.", p.Model, p.Version, p.Previous)}
	if in.Bundle == "" {
		in.Bundle = ev.BundleDir
	}
	if s.ReportPath != "" {
		in.ReportPath = s.ReportPath + "/" + p.ID + ".md"
	}
	return in
}

func (s *Service) retry() modelgate.Retry {
	return modelgate.Retry{Attempts: 5, Backoff: 2 * time.Second, Sleep: s.Sleep, Logger: s.logger()}
}

// auditBestEffort records an entry whose loss must not stop the rollback
// procedure; a failure to record is logged.
func (s *Service) auditBestEffort(ctx context.Context, p *modelgate.Promotion, action, outcome string, evidence []byte, detail string) {
	if err := s.audit(ctx, p, action, outcome, evidence, detail); err != nil {
		s.logger().Error("cannot record in the audit trail", "action", action, "err", err)
	}
}

func incidentEvidence(rec *modelgate.StepRecord) modelgate.IncidentEvidence {
	if e, err := rec.DecodeEvidence(); err == nil && e != nil {
		return *e.(*modelgate.IncidentEvidence)
	}
	return modelgate.IncidentEvidence{}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
