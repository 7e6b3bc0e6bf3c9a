package httpapi

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/modelgate/modelgate"
)

// Server serves the API. Set Service, Tokens and Audit; NewServer sets the
// rest's defaults.
type Server struct {
	Service modelgate.PromotionService
	Tokens  *Tokens
	// Audit receives one entry per mutating call, allowed or refused, under
	// the caller's name ("token:<name>"); the service audits what it does.
	Audit modelgate.AuditLog
	// VerifyAudit checks the configured audit trail and returns the result
	// to serve as JSON; nil answers 404.
	VerifyAudit func(ctx context.Context) (any, error)
	// Ready reports whether the store and the registry are reachable, for
	// /readyz; nil is always ready.
	Ready func(ctx context.Context) error
	// Leader reports, for /healthz, whether this replica leads and which
	// replica does; nil when the server runs without leader election.
	Leader func() (leading bool, leader string)
	// Report renders a promotion as a self-contained HTML page, served to
	// readers at /api/v1/promotions/{id}/report.html; nil answers 404.
	Report func(p *modelgate.Promotion, steps []*modelgate.StepRecord) ([]byte, error)
	// UI is served at every path the API does not own (the dashboard); it
	// must serve only public assets, since it is reached without a token:
	// the pages ask for one and call the API with it. Nil: 404.
	UI http.Handler
	// Registerer receives the API's request counter; Gatherer is served on
	// /metrics. Nil: no metrics.
	Registerer prometheus.Registerer
	Gatherer   prometheus.Gatherer
	// Heartbeat is the interval of an event stream's keep-alive comments;
	// default 15s.
	Heartbeat time.Duration
	Logger    *slog.Logger
	Now       func() time.Time

	epoch    string // names this process's event numbering in event ids
	requests *prometheus.CounterVec
}

// NewServer returns a Server for svc behind tokens, auditing to log.
func NewServer(svc modelgate.PromotionService, tokens *Tokens, log modelgate.AuditLog) *Server {
	return &Server{Service: svc, Tokens: tokens, Audit: log, Heartbeat: 15 * time.Second, Logger: slog.Default(), Now: time.Now,
		epoch: strconv.FormatInt(time.Now().UnixNano(), 36)}
}

// Handler returns the API's handler, registering its metrics.
func (s *Server) Handler() (http.Handler, error) {
	if s.Service == nil || s.Tokens == nil || s.Audit == nil {
		return nil, fmt.Errorf("httpapi: Service, Tokens and Audit are required")
	}
	if s.Registerer != nil {
		s.requests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "modelgate_api_requests_total",
			Help: "API requests answered, by route pattern, method and status code."}, []string{"route", "method", "code"})
		if err := s.Registerer.Register(s.requests); err != nil {
			return nil, fmt.Errorf("register the API's metrics: %w", err)
		}
	}
	mux := http.NewServeMux()
	s.routes(mux)
	return mux, nil
}

func (s *Server) routes(mux *http.ServeMux) {
	s.handle(mux, "GET /healthz", "", s.healthz)
	s.handle(mux, "GET /readyz", "", s.readyz)
	if s.Gatherer != nil {
		h := promhttp.HandlerFor(s.Gatherer, promhttp.HandlerOpts{})
		s.handle(mux, "GET /metrics", "", func(w http.ResponseWriter, r *http.Request, _ *call) error { h.ServeHTTP(w, r); return nil })
	}
	s.handle(mux, "POST /api/v1/promotions", permOperate, s.createPromotion)
	s.handle(mux, "GET /api/v1/promotions", permRead, s.listPromotions)
	s.handle(mux, "GET /api/v1/promotions/{id}", permRead, s.getPromotion)
	s.handle(mux, "GET /api/v1/promotions/{id}/events", permRead, s.events)
	s.handle(mux, "POST /api/v1/models/{model}/accept", permOperate, s.accept)
	s.handle(mux, "POST /api/v1/models/{model}/abort", permOperate, s.abort)
	s.handle(mux, "POST /api/v1/models/{model}/resume", permOperate, s.resume)
	s.handle(mux, "POST /api/v1/models/{model}/approvals", permApprove, s.approve)
	s.handle(mux, "GET /api/v1/models/{model}/status", permRead, s.modelStatus)
	s.handle(mux, "GET /api/v1/audit/verify", permRead, s.verifyAudit)
	s.handle(mux, "GET /api/v1/whoami", permRead, s.whoami)
	s.handle(mux, "GET /api/v1/promotions/{id}/report.html", permRead, s.report)
	s.handle(mux, "/api/", permRead, func(http.ResponseWriter, *http.Request, *call) error {
		return modelgate.Errorf(modelgate.ENOTFOUND, "no such API call; see the README's \"modelgate as a team service\"")
	})
	if s.UI != nil {
		mux.Handle("/", s.UI)
	}
}

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request, _ *call) error {
	body := map[string]any{"status": "alive"}
	if s.Leader != nil {
		body["leading"], body["leader"] = s.Leader()
	}
	writeJSON(w, http.StatusOK, body)
	return nil
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request, _ *call) error {
	if s.Ready != nil {
		ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
		defer cancel()
		if err := s.Ready(ctx); err != nil {
			return &modelgate.Error{Code: modelgate.EUNAVAILABLE, Message: "not ready: " + modelgate.ErrorMessage(err), Err: err}
		}
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	return nil
}

func (s *Server) verifyAudit(w http.ResponseWriter, r *http.Request, _ *call) error {
	if s.VerifyAudit == nil {
		return modelgate.Errorf(modelgate.ENOTFOUND, "this server checks no audit trail")
	}
	res, err := s.VerifyAudit(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}
