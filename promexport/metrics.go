package promexport

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/modelgate/modelgate"
)

// verdicts and decisions are the enum values the judge gauges take.
var (
	verdicts  = []modelgate.Verdict{modelgate.VerdictPass, modelgate.VerdictFail, modelgate.VerdictContinue, modelgate.VerdictInconclusive, modelgate.VerdictNotJudged}
	decisions = []modelgate.Decision{modelgate.DecisionContinue, modelgate.DecisionPromote, modelgate.DecisionRollback, modelgate.DecisionHold}
)

// Metrics is what a modelgate server exports about its promotions. Its
// methods Started, Progress and Ended make it a promotion.Runner's
// Observer.
type Metrics struct {
	started   *prometheus.CounterVec
	ended     *prometheus.CounterVec
	steps     *prometheus.HistogramVec
	elapsed   *prometheus.GaugeVec
	remaining *prometheus.GaugeVec
	verdict   *prometheus.GaugeVec
	decision  *prometheus.GaugeVec
	appends   *prometheus.CounterVec
}

// NewMetrics creates the metrics and registers them on reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		started: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "modelgate_promotions_started_total",
			Help: "Promotions started through this server."}, []string{"model"}),
		ended: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "modelgate_promotions_ended_total",
			Help: "Promotions this server ran to an end, by outcome (promoted, rolled_back, failed, held, reverted)."}, []string{"model", "outcome"}),
		steps: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "modelgate_promotion_step_duration_seconds",
			Help:    "How long each playbook step took, for steps that ended while this server ran the promotion.",
			Buckets: prometheus.ExponentialBuckets(0.1, 4, 10)}, []string{"model", "step"}),
		elapsed: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "modelgate_canary_window_elapsed_seconds",
			Help: "Time the running promotion's canary has been watched, at its last look; 0 when none is watched."}, []string{"model"}),
		remaining: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "modelgate_canary_window_remaining_seconds",
			Help: "Time left in the running promotion's canary window, at its last look."}, []string{"model"}),
		verdict: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "modelgate_judge_check_verdict",
			Help: "The judge's current verdict per check of a running canary: 1 for the verdict it has, 0 for the others."}, []string{"model", "check", "verdict"}),
		decision: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "modelgate_judge_decision",
			Help: "The judge's current decision on a running canary: 1 for the decision it has, 0 for the others."}, []string{"model", "decision"}),
		appends: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "modelgate_audit_appends_total",
			Help: "Audit trail appends by this process, by result (ok, error)."}, []string{"result"}),
	}
	for _, c := range []prometheus.Collector{m.started, m.ended, m.steps, m.elapsed, m.remaining, m.verdict, m.decision, m.appends} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	m.appends.WithLabelValues("ok")
	m.appends.WithLabelValues("error")
	return m, nil
}

// Started counts a promotion created through the runner.
func (m *Metrics) Started(p *modelgate.Promotion) { m.started.WithLabelValues(p.Model).Inc() }

// Progress follows the canary window: time in it and the judge's answer.
func (m *Metrics) Progress(e modelgate.Event) {
	if e.Judgement == nil || e.Window == nil {
		return
	}
	m.elapsed.WithLabelValues(e.Model).Set(e.Elapsed.Seconds())
	m.remaining.WithLabelValues(e.Model).Set(e.Remaining.Seconds())
	for _, c := range e.Judgement.Checks {
		for _, v := range verdicts {
			m.verdict.WithLabelValues(e.Model, c.Name, string(v)).Set(b2f(c.Verdict == v))
		}
	}
	for _, d := range decisions {
		m.decision.WithLabelValues(e.Model, string(d)).Set(b2f(e.Judgement.Decision == d))
	}
}

// Ended counts the outcome, observes the steps that ended since the job
// began here, and clears the model's window and judge gauges.
func (m *Metrics) Ended(p *modelgate.Promotion, steps []*modelgate.StepRecord, since time.Time) {
	if p.Outcome != modelgate.OutcomeNone {
		m.ended.WithLabelValues(p.Model, string(p.Outcome)).Inc()
	}
	for _, s := range steps {
		if !s.EndedAt.IsZero() && !s.EndedAt.Before(since) {
			m.steps.WithLabelValues(p.Model, string(s.Step)).Observe(s.EndedAt.Sub(s.StartedAt).Seconds())
		}
	}
	m.elapsed.DeleteLabelValues(p.Model)
	m.remaining.DeleteLabelValues(p.Model)
	m.verdict.DeletePartialMatch(prometheus.Labels{"model": p.Model})
	m.decision.DeletePartialMatch(prometheus.Labels{"model": p.Model})
}

// AuditLog counts the appends of the log it wraps.
func (m *Metrics) AuditLog(log modelgate.AuditLog) modelgate.AuditLog {
	return countingLog{log, m.appends}
}

type countingLog struct {
	modelgate.AuditLog
	appends *prometheus.CounterVec
}

func (l countingLog) Append(ctx context.Context, e modelgate.AuditEntry) (modelgate.AuditEntry, error) {
	e, err := l.AuditLog.Append(ctx, e)
	if err != nil {
		l.appends.WithLabelValues("error").Inc()
	} else {
		l.appends.WithLabelValues("ok").Inc()
	}
	return e, err
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
