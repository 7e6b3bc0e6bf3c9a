package judge

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/sketch"
)

var bakeT0 = time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)

func stats(requests, errors int64, p95 float64) modelgate.RevisionStats {
	s := modelgate.RevisionStats{Requests: requests, Errors: errors}
	if requests > 0 {
		s.LatencyMS = modelgate.Distribution{Count: requests, P95: p95}
	}
	return s
}

func alertNamed(t *testing.T, as []modelgate.Alert, name string) modelgate.Alert {
	t.Helper()
	for _, a := range as {
		if a.Name == name {
			return a
		}
	}
	t.Fatalf("no %s alert in %+v", name, as)
	return modelgate.Alert{}
}

func TestBakeRules_FireOnlyAfterTheirPendingPeriod(t *testing.T) {
	r := DefaultBakeRules()
	var pending map[string]time.Time
	var as []modelgate.Alert
	for i, want := range []bool{false, false, false, true} { // looks at 0, 2, 4 and 6 minutes
		l := modelgate.BakeLook{At: bakeT0.Add(time.Duration(2*i) * time.Minute), Recent: stats(1000, 30, 120)}
		as, pending = r.Evaluate(l, pending)
		a := alertNamed(t, as, AlertErrorRate)
		if a.Firing != want || a.Pending == want {
			t.Fatalf("look %d: firing %v pending %v, want firing %v", i, a.Firing, a.Pending, want)
		}
		if a.Action != modelgate.AlertRollback || !strings.Contains(a.Summary, "3.00%") {
			t.Errorf("alert %+v: want a rollback action and the rate in its summary", a)
		}
		if alertNamed(t, as, AlertLatencyP95).Pending {
			t.Errorf("p95 120 ms is pending against 300 ms")
		}
	}
	// One healthy look clears it.
	as, pending = r.Evaluate(modelgate.BakeLook{At: bakeT0.Add(8 * time.Minute), Recent: stats(1000, 2, 120)}, pending)
	if a := alertNamed(t, as, AlertErrorRate); a.Firing || a.Pending || len(pending) != 0 {
		t.Errorf("after a healthy look: %+v pending %v", a, pending)
	}
}

func TestBakeRules_TooLittleTrafficNeitherFiresNorClears(t *testing.T) {
	r := DefaultBakeRules()
	_, pending := r.Evaluate(modelgate.BakeLook{At: bakeT0, Recent: stats(1000, 0, 450)}, nil)
	as, pending := r.Evaluate(modelgate.BakeLook{At: bakeT0.Add(10 * time.Minute), Recent: stats(20, 0, 900)}, pending)
	a := alertNamed(t, as, AlertLatencyP95)
	if a.Firing || !a.Pending || !pending[AlertLatencyP95].Equal(bakeT0) {
		t.Errorf("a quiet look: %+v, pending %v; want the clock kept and no firing", a, pending)
	}
	if !strings.Contains(a.Summary, "Only 20 requests") {
		t.Errorf("summary %q does not say why it is not judged", a.Summary)
	}
	as, _ = r.Evaluate(modelgate.BakeLook{At: bakeT0.Add(11 * time.Minute), Recent: stats(1000, 0, 450)}, pending)
	if !alertNamed(t, as, AlertLatencyP95).Firing {
		t.Errorf("p95 450 ms held since %v: want firing at +11m", bakeT0)
	}
}

func TestBakeRules_AgainstTheBaseline(t *testing.T) {
	r := DefaultBakeRules()
	base := stats(100000, 100, 80) // 0.1%, 80 ms
	l := modelgate.BakeLook{At: bakeT0, Recent: stats(2000, 16, 140), Baseline: &base}
	as, _ := r.Evaluate(l, nil)
	if a := alertNamed(t, as, AlertBaselineP95); !a.Pending || a.Threshold != 130 {
		t.Errorf("p95 140 ms against baseline 80+50: %+v", a)
	}
	if a := alertNamed(t, as, AlertBaselineErrorRate); !a.Pending {
		t.Errorf("error rate 0.8%% against baseline 0.1%%+0.5: %+v", a)
	}
	if a := alertNamed(t, as, AlertErrorRate); a.Pending {
		t.Errorf("0.8%% is under the playbook's 1%%: %+v", a)
	}
}

func TestBakeRules_DriftNotifiesAndIgnoresWhatTheBaselineSaw(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	dist := func(shift float64) modelgate.Distribution {
		d := sketch.New()
		for range 5000 {
			d.Add(rng.NormFloat64() + shift)
		}
		return d.Distribution()
	}
	ref := &modelgate.Profile{Features: map[string]modelgate.Distribution{"temp": dist(0)}}
	total := stats(5000, 0, 50)
	total.Features = map[string]modelgate.Distribution{"temp": dist(1)}
	r := DefaultBakeRules()
	as, _ := r.Evaluate(modelgate.BakeLook{At: bakeT0, Recent: stats(500, 0, 50), Total: total, Reference: ref}, nil)
	a := alertNamed(t, as, AlertDrift)
	if !a.Pending || a.Action != modelgate.AlertNotify || !strings.Contains(a.Summary, "temp") {
		t.Errorf("a 1σ shift: %+v; want a pending notify-only alert naming the input", a)
	}
	base := stats(5000, 0, 50)
	base.Features = map[string]modelgate.Distribution{"temp": dist(1)}
	as, _ = r.Evaluate(modelgate.BakeLook{At: bakeT0, Recent: stats(500, 0, 50), Total: total, Reference: ref, Baseline: &base}, nil)
	if a := alertNamed(t, as, AlertDrift); a.Pending {
		t.Errorf("the previous version saw the same drift: %+v", a)
	}
}

// TestBakeRules_FalseAndTrueAlarmRates simulates 24-hour bakes at 10
// requests/s (looks every 30 s for the first hour, every 5 minutes after):
// a healthy version (0.2% errors) and one whose error rate rose to 3%.
// Settings: default rules (1%, held 5 minutes, 100 requests a look), 400
// bakes each, seed 7. It prints the rates; it fails when a healthy bake
// alerts in more than 1% of runs or a 3% one is missed.
func TestBakeRules_FalseAndTrueAlarmRates(t *testing.T) {
	r := DefaultBakeRules()
	rng := rand.New(rand.NewPCG(7, 7))
	bake := func(rate float64) (fired bool, after time.Duration) {
		var pending map[string]time.Time
		for at := time.Duration(0); at < 24*time.Hour; {
			step := 30 * time.Second
			if at >= time.Hour {
				step = 5 * time.Minute
			}
			at += step
			n := int64(10 * step.Seconds())
			var errs int64
			for range n {
				if rng.Float64() < rate {
					errs++
				}
			}
			var as []modelgate.Alert
			as, pending = r.Evaluate(modelgate.BakeLook{At: bakeT0.Add(at), Recent: stats(n, errs, 100)}, pending)
			for _, a := range as {
				if a.Firing {
					return true, at
				}
			}
		}
		return false, 0
	}
	const runs = 400
	falseAlarms, detected := 0, 0
	var times []time.Duration
	for range runs {
		if f, _ := bake(0.002); f {
			falseAlarms++
		}
		if f, at := bake(0.03); f {
			detected++
			times = append(times, at)
		}
	}
	slices.Sort(times)
	t.Logf("healthy (0.2%% errors): %d of %d bakes alerted; 3%% errors: %d of %d detected, median after %v, slowest %v", falseAlarms, runs, detected, runs, times[len(times)/2], times[len(times)-1])
	if falseAlarms > runs/100 || detected < runs {
		t.Errorf("false alarms %d/%d, detected %d/%d", falseAlarms, runs, detected, runs)
	}
}
