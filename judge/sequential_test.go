package judge_test

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/judge"
	"github.com/modelgate/modelgate/profile"
)

// arm describes one simulated revision for a table test.
type arm struct {
	n         int
	errRate   float64
	latAdd    float64 // ms added at p95 and above (linear from p50)
	predShift float64 // in prediction standard deviations
	featShift float64 // multiplicative shift of feature "x"
	catShares []float64
	maeFactor float64 // absolute error scale for actuals (0: no actuals)
}

func buildArm(r *rand.Rand, a arm) modelgate.RevisionStats {
	lat := make([]float64, 0, a.n)
	preds := make([]float64, 0, a.n)
	feat := make([]float64, 0, a.n)
	cat := make([]float64, 0, a.n)
	var acc modelgate.Accuracy
	var errs int64
	q50, q95 := 30.0, 30*math.Exp(1.645*0.6)
	for range a.n {
		l := math.Exp(math.Log(30) + 0.6*r.NormFloat64())
		l += a.latAdd * math.Min(math.Max((l-q50)/(q95-q50), 0), 1)
		lat = append(lat, l)
		if r.Float64() < a.errRate {
			errs++
			continue
		}
		p := 100 + 20*(r.NormFloat64()+a.predShift)
		preds = append(preds, p)
		feat = append(feat, math.Exp(r.NormFloat64()*0.5)*(1+a.featShift))
		u, c := r.Float64(), 0
		for c < len(a.catShares)-1 && u > a.catShares[c] {
			u -= a.catShares[c]
			c++
		}
		cat = append(cat, float64(c))
		if a.maeFactor > 0 {
			acc.Add(p, p+a.maeFactor*r.NormFloat64())
		}
	}
	s := modelgate.RevisionStats{
		Requests: int64(a.n), Errors: errs,
		LatencyMS:   profile.Distribution(lat, false),
		Predictions: profile.Distribution(preds, false),
		Features:    map[string]modelgate.Distribution{"x": profile.Distribution(feat, false), "store": profile.Distribution(cat, true)},
	}
	if a.maeFactor > 0 {
		s.Accuracy = &acc
	}
	return s
}

func reference(r *rand.Rand) *modelgate.Profile {
	b := profile.NewBuilder([]string{"x", "store"}, "store")
	for range 20000 {
		u, c := r.Float64(), 0.0
		switch {
		case u > 0.8:
			c = 2
		case u > 0.5:
			c = 1
		}
		if err := b.AddRow([]float64{math.Exp(r.NormFloat64() * 0.5), c}); err != nil {
			panic(err)
		}
	}
	return b.Profile()
}

func TestSequential(t *testing.T) {
	mid := modelgate.Progress{Elapsed: 10 * time.Minute, Window: 30 * time.Minute}
	end := modelgate.Progress{Elapsed: 30 * time.Minute, Window: 30 * time.Minute, Final: true}
	shares := []float64{0.5, 0.3, 0.2}
	healthy := arm{n: 6000, errRate: 0.01, catShares: shares}
	prod := arm{n: 54000, errRate: 0.01, catShares: shares}
	with := func(f func(*arm)) arm { a := healthy; f(&a); return a }
	tests := []struct {
		name     string
		canary   arm
		prod     arm
		progress modelgate.Progress
		want     modelgate.Decision
		failed   string // the check that fails (its name's prefix), or what the first reason says
	}{
		{"HealthyMidWindowContinues", healthy, prod, mid, modelgate.DecisionContinue, ""},
		{"HealthyAtEndPromotes", healthy, prod, end, modelgate.DecisionPromote, ""},
		{"TwiceTheErrorsRollsBack", with(func(a *arm) { a.errRate = 0.02 }), prod, mid, modelgate.DecisionRollback, "error_rate"},
		{"P95Plus80msRollsBack", with(func(a *arm) { a.latAdd = 80 }), prod, mid, modelgate.DecisionRollback, "latency_p"},
		{"PredictionsShiftedRollBack", with(func(a *arm) { a.predShift = 0.3 }), prod, mid, modelgate.DecisionRollback, "prediction_mean"},
		{"CanaryOnlyFeatureDriftRollsBack", with(func(a *arm) { a.featShift = 0.5 }), prod, mid, modelgate.DecisionRollback, "feature_drift:x"},
		{"CanaryOnlyCategoryDriftRollsBack", with(func(a *arm) { a.catShares = []float64{0.2, 0.3, 0.5} }), prod, mid, modelgate.DecisionRollback, "feature_drift:store"},
		{"DriftInBothArmsIsNotTheCanarys", with(func(a *arm) { a.featShift = 0.5 }), func() arm { p := prod; p.featShift = 0.5; return p }(), end, modelgate.DecisionPromote, ""},
		{"WorseAccuracyRollsBack", with(func(a *arm) { a.maeFactor = 15 }), func() arm { p := prod; p.maeFactor = 10; return p }(), mid, modelgate.DecisionRollback, "kpi_mae"},
		{"EqualAccuracyPromotes", with(func(a *arm) { a.maeFactor = 10 }), func() arm { p := prod; p.maeFactor = 10; return p }(), end, modelgate.DecisionPromote, ""},
		{"TooLittleTrafficContinues", with(func(a *arm) { a.n = 150; a.errRate = 0.2 }), prod, mid, modelgate.DecisionContinue, "Not enough traffic"},
		{"TooLittleTrafficAtEndHolds", with(func(a *arm) { a.n = 150 }), prod, end, modelgate.DecisionHold, "Not enough traffic"},
		// Drift needs 1000 values per arm; with fewer at the end it is not
		// judged (and said so), it does not hold a canary otherwise healthy.
		{"TooFewForDriftAtEndIsNotJudged", with(func(a *arm) { a.n = 900 }), prod, end, modelgate.DecisionPromote, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(7, 7))
			w := &modelgate.Window{Stable: buildArm(r, tt.prod), Canary: buildArm(r, tt.canary), Reference: reference(r)}
			got := judge.DefaultSequential().Judge(w, tt.progress)
			if got.Decision != tt.want {
				t.Fatalf("decision = %s, want %s; reasons:\n%s", got.Decision, tt.want, strings.Join(got.Reasons, "\n"))
			}
			if tt.name == "TooFewForDriftAtEndIsNotJudged" && !strings.Contains(strings.Join(got.NotJudged, "\n"), "drift is judged from 1000 each") {
				t.Fatalf("not-judged notes do not name the drift sample minimum: %q", got.NotJudged)
			}
			wantFirstReason(t, got, tt.failed)
			for _, c := range got.Checks {
				if c.Alpha <= 0 || c.Alpha > 0.01+1e-12 {
					t.Errorf("%s tested at α = %g, want ≤ 0.05/5", c.Name, c.Alpha)
				}
			}
		})
	}
}

func TestSequential_EarlyPromotionAndKPINote(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 3))
	w := &modelgate.Window{
		Stable: buildArm(r, arm{n: 200000, errRate: 0.001, catShares: []float64{1}}),
		Canary: buildArm(r, arm{n: 100000, errRate: 0.001, catShares: []float64{1}}),
	}
	j := judge.DefaultSequential()
	j.PredictionMargin = 0.05 // the bands must fall below the margin early
	j.EarlyPromotion = true
	got := j.Judge(w, modelgate.Progress{Elapsed: 20 * time.Minute, Window: time.Hour})
	if got.Decision != modelgate.DecisionPromote {
		t.Fatalf("decision = %s, want promote; reasons:\n%s", got.Decision, strings.Join(got.Reasons, "\n"))
	}
	if !strings.Contains(strings.Join(got.Reasons, "\n"), "without a training reference profile") {
		t.Fatal("reasons do not say feature drift was not judged")
	}
}

// TestSequential_AAFalseRollbacks simulates healthy canaries (1% errors in
// both arms, 100 req/s, 10% canary, a look every 30 s for 30 minutes) and
// checks the error-rate test rolls back fewer than α of them. Counts per
// look are drawn request by request; the judge sees cumulative counts.
func TestSequential_AAFalseRollbacks(t *testing.T) {
	const runs, alpha = 300, 0.05
	j := judge.DefaultSequential()
	j.Alpha = alpha
	rollbacks := 0
	for run := range runs {
		r := rand.New(rand.NewPCG(11, uint64(run)))
		var w modelgate.Window
		for look := 1; look <= 60; look++ {
			for range 3000 {
				a := &w.Stable
				if r.Float64() < 0.1 {
					a = &w.Canary
				}
				a.Requests++
				if r.Float64() < 0.01 {
					a.Errors++
				}
			}
			got := j.Judge(&w, modelgate.Progress{Elapsed: time.Duration(look) * 30 * time.Second, Window: 30 * time.Minute, Final: look == 60})
			if got.Decision == modelgate.DecisionRollback {
				rollbacks++
				break
			}
		}
	}
	// The error-rate family gets α/5, so even its expected share is small.
	if rate := float64(rollbacks) / runs; rate > alpha {
		t.Fatalf("false rollback rate %.3f > α = %g", rate, alpha)
	} else {
		t.Logf("false rollbacks: %d of %d (%.3f)", rollbacks, runs, rate)
	}
}

func TestSequential_JudgementIsJSON(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 5))
	for _, n := range []int{0, 1, 50, 300} {
		w := &modelgate.Window{Stable: buildArm(r, arm{n: n, errRate: 0.5, catShares: []float64{1}}), Canary: buildArm(r, arm{n: n, catShares: []float64{1}}), Reference: reference(r)}
		for _, final := range []bool{false, true} {
			j := judge.DefaultSequential().Judge(w, modelgate.Progress{Final: final})
			if _, err := json.Marshal(j); err != nil {
				t.Fatalf("n=%d: %v", n, err)
			}
		}
	}
}

func TestJoinActuals(t *testing.T) {
	preds := []judge.PredictionRecord{{"a", "v1", 10}, {"b", "v1", 20}, {"c", "v2", 30}, {"d", "v2", 5}}
	actuals := []judge.Actual{{"a", 12}, {"b", 20}, {"c", 20}, {"zz", 1}}
	got, unmatched := judge.JoinActuals(preds, actuals)
	if unmatched != 1 {
		t.Fatalf("unmatched = %d, want 1", unmatched)
	}
	if v1 := got["v1"]; v1.Count != 2 || v1.MAE() != 1 || math.Abs(v1.WAPE()-2.0/32) > 1e-12 {
		t.Fatalf("v1 = %+v (MAE %g, WAPE %g)", v1, v1.MAE(), v1.WAPE())
	}
	if v2 := got["v2"]; v2.Count != 1 || v2.MAE() != 10 {
		t.Fatalf("v2 = %+v", v2)
	}
}

// A feature only the canary's model computes is reported as not judged,
// not left waiting for production values that never come.
func TestSequential_FeatureProductionLacks(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	stable, canary := buildArm(r, arm{n: 5000}), buildArm(r, arm{n: 5000})
	delete(stable.Features, "x")
	w := &modelgate.Window{Stable: stable, Canary: canary, Reference: reference(r)}
	j := judge.DefaultSequential().Judge(w, modelgate.Progress{Elapsed: time.Minute, Window: time.Minute, Final: true})
	for _, c := range j.Checks {
		if c.Name == "feature_drift:x" {
			t.Fatalf("feature x judged without production values: %+v", c)
		}
	}
	if !strings.Contains(strings.Join(j.Reasons, "\n"), "Input drift of x is not judged: production's model does not compute") {
		t.Fatalf("reasons do not say x was not judged: %v", j.Reasons)
	}
}

// wantFirstReason checks that the first reason is a plain sentence and,
// when what names a check, that the check failed and its reason leads.
func wantFirstReason(t *testing.T, j modelgate.Judgement, what string) {
	t.Helper()
	first := j.Reasons[0]
	if first == "" || strings.ToUpper(first[:1]) != first[:1] || strings.HasPrefix(first, what+":") && what != "" {
		t.Fatalf("first reason %q does not start with a plain sentence", first)
	}
	if what == "" {
		return
	}
	if what[0] >= 'A' && what[0] <= 'Z' {
		if !strings.HasPrefix(first, what) {
			t.Fatalf("first reason %q, want it to start %q", first, what)
		}
		return
	}
	for _, c := range j.Checks {
		if strings.HasPrefix(c.Name, what) && c.Verdict == modelgate.VerdictFail && strings.Contains(first, "("+c.Name+":") {
			return
		}
	}
	t.Fatalf("no failed %s check leads the reasons; first reason %q", what, first)
}

// Mirrored pairs around a production mean near zero: the shift is measured
// in production's spread, as for unpaired predictions, so a tiny change is
// not an enormous relative shift.
func TestSequential_PairedMeanNearZero(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	healthy := arm{n: 6000, errRate: 0.01, catShares: []float64{0.5, 0.3, 0.2}}
	w := &modelgate.Window{Stable: buildArm(r, healthy), Canary: buildArm(r, healthy), Reference: reference(r)}
	var stable, canary []float64
	paired := &modelgate.Paired{}
	for range 6000 {
		s := 0.001 + 20*r.NormFloat64()
		c := s + 0.1 + r.NormFloat64() // 0.5% of the spread
		stable, canary = append(stable, s), append(canary, c)
		paired.Add(c, s)
	}
	w.Stable.Predictions, w.Canary.Predictions = profile.Distribution(stable, false), profile.Distribution(canary, false)
	w.Canary.Paired = paired
	got := judge.DefaultSequential().Judge(w, modelgate.Progress{Elapsed: 30 * time.Minute, Window: 30 * time.Minute, Final: true})
	for _, c := range got.Checks {
		if c.Name == "prediction_mean" && c.Verdict == modelgate.VerdictFail {
			t.Fatalf("a shift of 0.5%% of production's spread failed: %+v", c)
		}
	}
	if got.Decision != modelgate.DecisionPromote {
		t.Fatalf("decision = %s, want promote; reasons:\n%s", got.Decision, strings.Join(got.Reasons, "\n"))
	}
}
