package judge_test

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/judge"
)

// The local platform's alerts: which fire on production's figures, each
// with its reason, at the playbook's levels.
func TestAlerts(t *testing.T) {
	shares := []float64{0.5, 0.3, 0.2}
	ref := reference(rand.New(rand.NewPCG(7, 7)))
	tests := []struct {
		name   string
		rev    modelgate.RevisionStats
		ref    *modelgate.Profile
		firing []string // names of the alerts that fire
		want   []string // in the reasons, in order of the alerts
	}{
		{"Healthy", buildArm(rand.New(rand.NewPCG(1, 1)), arm{n: 5000, errRate: 0.002, catShares: shares}), ref, nil,
			[]string{"requests failed", "within the 1% alert level", "within the 300ms alert level", "No input drifts from the training data above the PSI alert level 0.20: store (PSI 0.00), x (PSI 0.00)"}},
		{"Errors", buildArm(rand.New(rand.NewPCG(2, 2)), arm{n: 5000, errRate: 0.03, catShares: shares}), ref, []string{modelgate.AlertErrorRate},
			[]string{"above the 1% alert level"}},
		{"Slow", buildArm(rand.New(rand.NewPCG(3, 3)), arm{n: 5000, latAdd: 400, catShares: shares}), ref, []string{modelgate.AlertLatencyP95},
			[]string{"above the 300ms alert level"}},
		{"Drift", buildArm(rand.New(rand.NewPCG(4, 4)), arm{n: 5000, featShift: 1, catShares: shares}), ref, []string{modelgate.AlertDrift},
			[]string{"Inputs drift from the training data above the PSI alert level 0.20: x (PSI"}},
		{"FewRequests", buildArm(rand.New(rand.NewPCG(5, 5)), arm{n: 50, errRate: 0.5, latAdd: 900, featShift: 3, catShares: shares}), ref, nil,
			[]string{"The error rate is not judged: 50 requests, fewer than the 100 it needs.", "The p95 latency is not judged", "Input drift is not judged: no input has the 1000 values it needs."}},
		{"NoReference", buildArm(rand.New(rand.NewPCG(6, 6)), arm{n: 5000, featShift: 3, catShares: shares}), nil, nil,
			[]string{"Input drift is not judged: the version has no training reference profile"}},
		{"AtTheLevelsExactly", modelgate.RevisionStats{Requests: 1000, Errors: 10, LatencyMS: modelgate.Distribution{Count: 1000, P95: 300}}, nil, nil,
			[]string{"1% of 1000 requests failed (10 answered with a 5xx), within the 1% alert level.", "95% of 1000 requests were answered within 300ms, within the 300ms alert level."}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := judge.Alerts(tt.rev, tt.ref, modelgate.AlertThresholds{})
			var firing, reasons []string
			for i, a := range got {
				if a.Name != []string{modelgate.AlertErrorRate, modelgate.AlertLatencyP95, modelgate.AlertDrift}[i] {
					t.Errorf("alert %d is %s", i, a.Name)
				}
				if a.Firing {
					firing = append(firing, a.Name)
				}
				reasons = append(reasons, a.Reason)
			}
			if strings.Join(firing, ",") != strings.Join(tt.firing, ",") {
				t.Errorf("firing %v, want %v; reasons:\n%s", firing, tt.firing, strings.Join(reasons, "\n"))
			}
			text := strings.Join(reasons, "\n")
			at := 0
			for _, w := range tt.want {
				i := strings.Index(text[at:], w)
				if i < 0 {
					t.Errorf("reasons lack %q (in order):\n%s", w, text)
					break
				}
				at += i + len(w)
			}
		})
	}
}

// Thresholds other than the playbook's apply.
func TestAlerts_Thresholds(t *testing.T) {
	rev := modelgate.RevisionStats{Requests: 40, Errors: 2, LatencyMS: modelgate.Distribution{Count: 40, P95: 120}}
	got := judge.Alerts(rev, nil, modelgate.AlertThresholds{ErrorRate: 0.04, LatencyP95: 100 * time.Millisecond, MinRequests: 20})
	if !got[0].Firing || !got[1].Firing || got[2].Firing {
		t.Errorf("alerts %+v, want error rate and latency firing", got)
	}
}
