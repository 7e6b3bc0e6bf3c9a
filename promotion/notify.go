package promotion

import (
	"context"
	"path/filepath"
	"time"

	"github.com/modelgate/modelgate"
)

// notifyTimeout bounds one announcement, retries included: a slow mail
// server must not hold a promotion up.
const notifyTimeout = time.Minute

// notify announces p best-effort, after its state and audit entry are
// written: a failed notification is logged and audited, never returned.
func (s *Service) notify(ctx context.Context, p *modelgate.Promotion, kind, summary string) {
	s.notifyLines(ctx, p, kind, summary, p.Reasons)
}

// notifyLines is notify with details other than the promotion's reasons.
func (s *Service) notifyLines(ctx context.Context, p *modelgate.Promotion, kind, summary string, details []string) {
	if s.Notifier == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), notifyTimeout)
	defer cancel()
	n := modelgate.Notification{Kind: kind, Promotion: p, Summary: summary, Details: details, Links: s.links(ctx, p)}
	if s.ReportPath != "" {
		n.ReportPath = filepath.Join(s.ReportPath, p.ID+".md")
		n.ReportHTML = filepath.Join(s.ReportPath, p.ID+".html")
	}
	if _, err := s.Notifier.Notify(ctx, n); err != nil {
		s.logger().Warn("notification failed", "promotion", p.ID, "kind", kind, "err", err)
		if aerr := s.audit(ctx, p, "notify.failed", kind, nil, err.Error()); aerr != nil {
			s.logger().Error("cannot record the failed notification", "err", aerr)
		}
	}
}
