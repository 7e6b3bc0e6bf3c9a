package judge

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/modelgate/modelgate"
)

// Alerts evaluates the playbook's post-deployment alerts (error rate, p95
// latency, input drift: modelgate.AlertErrorRate, AlertLatencyP95,
// AlertDrift) on one revision's figures over a period — on the local
// platform, production's figures the gateway measures (modelgate.Window's
// Stable) — the same conditions Prometheus's rules (prometheus.Rules)
// evaluate on KServe. ref is the version's training reference profile; nil
// leaves drift unjudged. Zero thresholds take their defaults. It returns
// the three alerts in that order, each firing or not with its reason in
// plain words; too few requests or values never fire an alert.
func Alerts(rev modelgate.RevisionStats, ref *modelgate.Profile, th modelgate.AlertThresholds) []modelgate.AlertState {
	th = th.OrDefaults()
	return []modelgate.AlertState{errorRateAlert(rev, th), latencyAlert(rev, th), inputDriftAlert(rev, ref, th)}
}

func errorRateAlert(rev modelgate.RevisionStats, th modelgate.AlertThresholds) modelgate.AlertState {
	a := modelgate.AlertState{Name: modelgate.AlertErrorRate}
	if rev.Requests < th.MinRequests {
		a.Reason = fmt.Sprintf("The error rate is not judged: %d requests, fewer than the %d it needs.", rev.Requests, th.MinRequests)
		return a
	}
	rate := rev.ErrorRate()
	a.Firing = rate > th.ErrorRate
	a.Reason = fmt.Sprintf("%s of %d requests failed (%d answered with a 5xx), %s the %s alert level.",
		pct(rate), rev.Requests, rev.Errors, aboveOrWithin(a.Firing), pct(th.ErrorRate))
	return a
}

func latencyAlert(rev modelgate.RevisionStats, th modelgate.AlertThresholds) modelgate.AlertState {
	a := modelgate.AlertState{Name: modelgate.AlertLatencyP95}
	if rev.Requests < th.MinRequests || rev.LatencyMS.Count == 0 {
		a.Reason = fmt.Sprintf("The p95 latency is not judged: %d requests timed, fewer than the %d it needs.", rev.LatencyMS.Count, th.MinRequests)
		return a
	}
	limit := ms(th.LatencyP95)
	a.Firing = rev.LatencyMS.P95 > limit
	a.Reason = fmt.Sprintf("95%% of %d requests were answered within %.0fms, %s the %.0fms alert level.",
		rev.LatencyMS.Count, rev.LatencyMS.P95, aboveOrWithin(a.Firing), limit)
	return a
}

// inputDriftAlert fires when any input's PSI against the training reference is
// above the threshold, naming those inputs.
func inputDriftAlert(rev modelgate.RevisionStats, ref *modelgate.Profile, th modelgate.AlertThresholds) modelgate.AlertState {
	a := modelgate.AlertState{Name: modelgate.AlertDrift}
	if ref == nil || len(ref.Features) == 0 {
		a.Reason = "Input drift is not judged: the version has no training reference profile (register it with --reference-sample)."
		return a
	}
	psi := featurePSI(rev, ref, th.MinDriftSamples)
	if len(psi) == 0 {
		a.Reason = fmt.Sprintf("Input drift is not judged: no input has the %d values it needs.", th.MinDriftSamples)
		return a
	}
	var over, within []string
	for _, n := range slices.Sorted(maps.Keys(psi)) {
		line := fmt.Sprintf("%s (PSI %.2f)", n, psi[n])
		if psi[n] > th.DriftPSI {
			over = append(over, line)
		} else {
			within = append(within, line)
		}
	}
	a.Firing = len(over) > 0
	if a.Firing {
		a.Reason = fmt.Sprintf("Inputs drift from the training data above the PSI alert level %.2f: %s.", th.DriftPSI, strings.Join(over, ", "))
		return a
	}
	a.Reason = fmt.Sprintf("No input drifts from the training data above the PSI alert level %.2f: %s.", th.DriftPSI, strings.Join(within, ", "))
	return a
}

// featurePSI is each input's PSI against the reference, for the inputs
// with at least min values.
func featurePSI(rev modelgate.RevisionStats, ref *modelgate.Profile, min int64) map[string]float64 {
	out := map[string]float64{}
	bins := DefaultSequential().DriftBins
	for n, r := range ref.Features {
		cur := rev.Features[n]
		if cur.Count < min {
			continue
		}
		if f, err := DriftFigures(r, cur, bins); err == nil {
			out[n] = f["psi"]
		}
	}
	return out
}

func aboveOrWithin(above bool) string {
	if above {
		return "above"
	}
	return "within"
}

// pct writes a rate as a percentage with up to two decimals: 0.0125 is 1.25%.
func pct(r float64) string {
	return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.2f", 100*r), "0"), ".") + "%"
}
