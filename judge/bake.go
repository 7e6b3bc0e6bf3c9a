package judge

import (
	"fmt"
	"sort"
	"time"

	"github.com/modelgate/modelgate"
)

// Names of the bake's alert rules: the playbook's three are the root's
// (the same as Prometheus's rules from `modelgate alerts`), the two against
// the previous version's baseline are the verification checklist's.
const (
	AlertErrorRate         = modelgate.AlertErrorRate       // playbook: error rate > 1%
	AlertLatencyP95        = modelgate.AlertLatencyP95      // playbook: p95 latency > 300 ms
	AlertDrift             = modelgate.AlertDrift           // playbook: drift score > threshold
	AlertBaselineErrorRate = "ModelErrorRateAboveBaseline"  // checklist: error rate ≤ baseline + 0.5%
	AlertBaselineP95       = "ModelLatencyP95AboveBaseline" // checklist: p95 ≤ baseline + 50 ms
)

// BakeAlertNames lists every bake rule's name, for configuration checks.
func BakeAlertNames() []string {
	return []string{AlertErrorRate, AlertLatencyP95, AlertDrift, AlertBaselineErrorRate, AlertBaselineP95}
}

// BakeRules are the post-deployment alerts of the playbook (error rate,
// p95 latency, input drift) and the comparison with the previous version's
// baseline (the verification checklist's margins), evaluated at every look
// of the bake. A rule fires only when its condition has held at every look
// for For, as a Prometheus alert with a for clause does.
type BakeRules struct {
	ErrorRate float64       // default 0.01
	P95       time.Duration // default 300ms
	// DriftLevel is the drift score that raises the drift alert, as a share
	// of Drift's alert levels (PSI 0.2, Wasserstein 0.1, L∞ 0.1). Default 1.
	DriftLevel float64
	// BaselineErrorMargin and BaselineP95Margin are how far the error rate
	// and p95 may rise above the previous version's baseline. Defaults
	// 0.005 and 50ms.
	BaselineErrorMargin float64
	BaselineP95Margin   time.Duration
	// For is how long a condition must hold before its alert fires.
	// Default 5m.
	For time.Duration
	// MinRequests is the number of requests a look needs before its error
	// rate and latency say anything; fewer leaves the rules as they were.
	// Default 100.
	MinRequests int64
	// Actions is what each rule's firing does. Defaults: roll back on
	// errors and latency, notify on input drift (inputs drifting is the
	// world changing, not the new version's fault).
	Actions map[string]modelgate.AlertAction
	// Drift holds the drift figures' settings (bins, alert levels) shared
	// with the canary judge.
	Drift Sequential
}

var _ modelgate.AlertRules = BakeRules{}

// DefaultBakeRules returns the playbook's alerts.
func DefaultBakeRules() BakeRules {
	return BakeRules{ErrorRate: 0.01, P95: 300 * time.Millisecond, DriftLevel: 1, BaselineErrorMargin: 0.005, BaselineP95Margin: 50 * time.Millisecond,
		For: 5 * time.Minute, MinRequests: 100, Actions: DefaultBakeActions(), Drift: DefaultSequential()}
}

// DefaultBakeActions returns what each rule does by default.
func DefaultBakeActions() map[string]modelgate.AlertAction {
	return map[string]modelgate.AlertAction{
		AlertErrorRate: modelgate.AlertRollback, AlertLatencyP95: modelgate.AlertRollback,
		AlertBaselineErrorRate: modelgate.AlertRollback, AlertBaselineP95: modelgate.AlertRollback,
		AlertDrift: modelgate.AlertNotify,
	}
}

// Evaluate returns every rule's state at look l, and since when each
// condition holds (pending, updated from the previous look's).
func (r BakeRules) Evaluate(l modelgate.BakeLook, pending map[string]time.Time) ([]modelgate.Alert, map[string]time.Time) {
	next := map[string]time.Time{}
	var out []modelgate.Alert
	for _, c := range r.conditions(l) {
		a := c.alert
		a.Action = r.action(a.Name)
		since, was := pending[a.Name]
		switch {
		case c.unknown && was:
			next[a.Name] = since // too little traffic to tell: keep the clock, do not fire
			a.Pending = true
		case c.holds:
			if !was {
				since = l.At
			}
			next[a.Name] = since
			a.Firing = !l.At.Before(since.Add(r.For))
			a.Pending = !a.Firing
		}
		out = append(out, a)
	}
	return out, next
}

func (r BakeRules) action(name string) modelgate.AlertAction {
	if a, ok := r.Actions[name]; ok {
		return a
	}
	if a, ok := DefaultBakeActions()[name]; ok {
		return a
	}
	return modelgate.AlertNotify
}

// condition is one rule at one look.
type condition struct {
	alert   modelgate.Alert
	holds   bool
	unknown bool
}

func (r BakeRules) conditions(l modelgate.BakeLook) []condition {
	cs := []condition{r.errorRate(l), r.latency(l)}
	if l.Baseline != nil {
		cs = append(cs, r.baselineErrorRate(l), r.baselineLatency(l))
	}
	if d, ok := r.drift(l); ok {
		cs = append(cs, d)
	}
	return cs
}

func (r BakeRules) enough(l modelgate.BakeLook) bool { return l.Recent.Requests >= r.MinRequests }

func (r BakeRules) errorRate(l modelgate.BakeLook) condition {
	v := l.Recent.ErrorRate()
	c := condition{alert: modelgate.Alert{Name: AlertErrorRate, Value: v, Threshold: r.ErrorRate}, unknown: !r.enough(l)}
	c.holds = !c.unknown && v > r.ErrorRate
	c.alert.Summary = r.traffic(l, fmt.Sprintf("Error rate %.2f%% (%d of %d requests) against the alert's %.2f%%.", 100*v, l.Recent.Errors, l.Recent.Requests, 100*r.ErrorRate))
	return c
}

func (r BakeRules) latency(l modelgate.BakeLook) condition {
	v, limit := l.Recent.LatencyMS.P95, ms(r.P95)
	c := condition{alert: modelgate.Alert{Name: AlertLatencyP95, Value: v, Threshold: limit}, unknown: !r.enough(l) || l.Recent.LatencyMS.Count == 0}
	c.holds = !c.unknown && v > limit
	c.alert.Summary = r.traffic(l, fmt.Sprintf("p95 latency %.0f ms against the alert's %.0f ms.", v, limit))
	return c
}

func (r BakeRules) baselineErrorRate(l modelgate.BakeLook) condition {
	b := l.Baseline.ErrorRate()
	v, limit := l.Recent.ErrorRate(), b+r.BaselineErrorMargin
	c := condition{alert: modelgate.Alert{Name: AlertBaselineErrorRate, Value: v, Threshold: limit}, unknown: !r.enough(l)}
	c.holds = !c.unknown && v > limit
	c.alert.Summary = r.traffic(l, fmt.Sprintf("Error rate %.2f%% against the previous version's baseline %.2f%% + %.2f points.", 100*v, 100*b, 100*r.BaselineErrorMargin))
	return c
}

func (r BakeRules) baselineLatency(l modelgate.BakeLook) condition {
	b := l.Baseline.LatencyMS.P95
	v, limit := l.Recent.LatencyMS.P95, b+ms(r.BaselineP95Margin)
	c := condition{alert: modelgate.Alert{Name: AlertBaselineP95, Value: v, Threshold: limit},
		unknown: !r.enough(l) || l.Recent.LatencyMS.Count == 0 || l.Baseline.LatencyMS.Count == 0}
	c.holds = !c.unknown && v > limit
	c.alert.Summary = r.traffic(l, fmt.Sprintf("p95 latency %.0f ms against the previous version's baseline %.0f ms + %.0f ms.", v, b, ms(r.BaselineP95Margin)))
	return c
}

// drift raises the alert when an input's drift score since the rollout
// reaches the alert level and the previous version's baseline did not
// already show it ("no increase in drift alerts").
func (r BakeRules) drift(l modelgate.BakeLook) (condition, bool) {
	if l.Reference == nil || len(l.Reference.Features) == 0 {
		return condition{}, false
	}
	names := make([]string, 0, len(l.Reference.Features))
	for n := range l.Reference.Features {
		names = append(names, n)
	}
	sort.Strings(names)
	worst, worstName, measured := 0.0, "", false
	for _, n := range names {
		cur := l.Total.Features[n]
		if cur.Count < r.Drift.MinDriftSamples {
			continue
		}
		a, ok := r.Drift.alertOf(l.Reference.Features[n], cur)
		if !ok {
			continue
		}
		measured = true
		if l.Baseline != nil {
			if b, ok := r.Drift.alertOf(l.Reference.Features[n], l.Baseline.Features[n]); ok && b.level >= r.DriftLevel {
				continue // the previous version's traffic drifted as much: not new
			}
		}
		if a.level > worst {
			worst, worstName = a.level, n
		}
	}
	c := condition{alert: modelgate.Alert{Name: AlertDrift, Value: worst, Threshold: r.DriftLevel}, unknown: !measured}
	c.holds = measured && worst >= r.DriftLevel
	switch {
	case !measured:
		c.alert.Summary = fmt.Sprintf("Input drift: fewer than %d values of each input since the rollout; not judged yet.", r.Drift.MinDriftSamples)
	case worstName == "":
		c.alert.Summary = "Input drift: no input drifts from the training data beyond what the previous version already saw."
	default:
		c.alert.Summary = fmt.Sprintf("Input drift: %s drifts from the training data at %.2f of the alert level (alert at %.2f).", worstName, worst, r.DriftLevel)
	}
	return c, true
}

// traffic prefixes a summary with a note when the look had too little
// traffic to say anything.
func (r BakeRules) traffic(l modelgate.BakeLook, s string) string {
	if r.enough(l) {
		return s
	}
	return fmt.Sprintf("Only %d requests since the last look (%d needed); not judged: %s", l.Recent.Requests, r.MinRequests, s)
}
