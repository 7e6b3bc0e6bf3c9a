package judge_test

import (
	"strings"
	"testing"
	"time"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/judge"
)

func stats(req, errs int64, p50, p95, p99, predMean float64) modelgate.RevisionStats {
	return modelgate.RevisionStats{
		Requests: req, Errors: errs,
		LatencyMS: modelgate.Distribution{Count: req, P50: p50, P95: p95, P99: p99},
		// standard deviation 10 around the mean
		Predictions: modelgate.Distribution{Count: req, Sum: predMean * float64(req), SumSq: float64(req) * (predMean*predMean + 100), P50: predMean},
	}
}

func TestThresholds(t *testing.T) {
	mid := modelgate.Progress{Elapsed: 10 * time.Minute, Window: 30 * time.Minute}
	end := modelgate.Progress{Elapsed: 30 * time.Minute, Window: 30 * time.Minute, Final: true}
	prod := stats(9000, 90, 20, 80, 120, 100)
	tests := []struct {
		name     string
		canary   modelgate.RevisionStats
		progress modelgate.Progress
		want     modelgate.Decision
		failed   string // name of the check expected to fail
	}{
		{"HealthyMidWindowContinues", stats(1000, 10, 20, 80, 120, 101), mid, modelgate.DecisionContinue, ""},
		{"HealthyAtEndPromotes", stats(1000, 10, 20, 80, 120, 101), end, modelgate.DecisionPromote, ""},
		{"ErrorRateOverMarginRollsBack", stats(1000, 16, 20, 80, 120, 100), mid, modelgate.DecisionRollback, "error_rate"},
		{"ErrorRateJustWithinMarginPasses", stats(1000, 15, 20, 80, 120, 100), end, modelgate.DecisionPromote, ""},
		{"P95Over50msRollsBack", stats(1000, 10, 20, 131, 150, 100), mid, modelgate.DecisionRollback, "latency_p95"},
		{"P50Over5PercentAndFloorRollsBack", stats(1000, 10, 31, 80, 120, 100), mid, modelgate.DecisionRollback, "latency_p50"},
		{"P50SmallAbsoluteChangeIsNoise", stats(1000, 10, 29, 80, 120, 100), end, modelgate.DecisionPromote, ""},
		{"PredictionShiftRollsBack", stats(1000, 10, 20, 80, 120, 90), mid, modelgate.DecisionRollback, "prediction_mean"},
		{"PredictionShiftWithinNoiseContinues", stats(1000, 10, 20, 80, 120, 94.5), mid, modelgate.DecisionContinue, ""},
		{"PredictionShiftUnsettledAtEndHolds", stats(1000, 10, 20, 80, 120, 94.5), end, modelgate.DecisionHold, "prediction_mean"},
		{"TooLittleTrafficContinues", stats(100, 10, 500, 900, 900, 10), mid, modelgate.DecisionContinue, ""},
		{"TooLittleTrafficAtEndHolds", stats(100, 0, 20, 80, 120, 100), end, modelgate.DecisionHold, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := &modelgate.Window{Stable: prod, Canary: tt.canary}
			got := judge.DefaultThresholds().Judge(w, tt.progress)
			if got.Decision != tt.want {
				t.Fatalf("decision = %s, want %s; reasons %v", got.Decision, tt.want, got.Reasons)
			}
			if len(got.Reasons) == 0 {
				t.Fatal("no reasons given")
			}
			if r := got.Reasons[0]; !strings.HasPrefix(r, "The ") && !strings.HasPrefix(r, "Not enough") {
				t.Fatalf("first reason %q does not start with a plain sentence", r)
			}
			if tt.failed != "" && !strings.Contains(got.Reasons[0], "("+tt.failed+":") {
				t.Fatalf("first reason %q, want it about %s", got.Reasons[0], tt.failed)
			}
		})
	}
}

func TestThresholds_EarlyPromotion(t *testing.T) {
	j := judge.DefaultThresholds()
	j.EarlyPromotion = true
	w := &modelgate.Window{Stable: stats(9000, 0, 20, 80, 120, 100), Canary: stats(1000, 0, 20, 80, 120, 100)}
	if got := j.Judge(w, modelgate.Progress{Elapsed: time.Minute, Window: time.Hour}); got.Decision != modelgate.DecisionPromote {
		t.Fatalf("decision = %s, want promote", got.Decision)
	}
}

// Without prediction figures (a Prometheus window) the prediction check is
// left out and the reasons say so, instead of comparing zero with zero.
func TestThresholds_NoPredictions(t *testing.T) {
	c, s := stats(1000, 0, 20, 80, 120, 0), stats(9000, 0, 20, 80, 120, 0)
	c.Predictions, s.Predictions = modelgate.Distribution{}, modelgate.Distribution{}
	got := judge.DefaultThresholds().Judge(&modelgate.Window{Canary: c, Stable: s}, modelgate.Progress{Final: true})
	for _, ch := range got.Checks {
		if ch.Name == "prediction_mean" {
			t.Fatalf("prediction_mean judged without predictions: %+v", ch)
		}
	}
	if got.Decision != modelgate.DecisionPromote || !strings.Contains(strings.Join(got.Reasons, "\n"), "The mean prediction is not judged") {
		t.Fatalf("decision %s, reasons %v", got.Decision, got.Reasons)
	}
}

// Targets centred on zero: the band is 5% of production's spread, not of a
// mean near zero, around which any change would be an enormous relative
// shift and the band would vanish.
func TestThresholds_MeanNearZero(t *testing.T) {
	end := modelgate.Progress{Elapsed: 30 * time.Minute, Window: 30 * time.Minute, Final: true}
	prod := stats(9000, 0, 20, 80, 120, 0.01) // standard deviation 10
	for _, tt := range []struct {
		canaryMean float64
		want       modelgate.Decision
	}{
		{0.3, modelgate.DecisionPromote}, // 3% of the spread
		{5, modelgate.DecisionRollback},  // half a standard deviation
	} {
		w := &modelgate.Window{Stable: prod, Canary: stats(1000, 0, 20, 80, 120, tt.canaryMean)}
		got := judge.DefaultThresholds().Judge(w, end)
		if got.Decision != tt.want {
			t.Fatalf("canary mean %v: decision = %s, want %s; reasons %v", tt.canaryMean, got.Decision, tt.want, got.Reasons)
		}
		for _, c := range got.Checks {
			if c.Name == "prediction_mean" && !strings.Contains(c.Summary, "spread") {
				t.Errorf("summary %q does not say the shift is measured in production's spread", c.Summary)
			}
		}
	}
}

// A mean that is not near zero keeps the relative band, and the summary
// says nothing of a spread (0.09 once read as near zero by a rounding).
func TestThresholds_SmallMeanNotNearZero(t *testing.T) {
	dist := func(n int64, mean, sd float64) modelgate.Distribution {
		return modelgate.Distribution{Count: n, Sum: mean * float64(n), SumSq: float64(n) * (mean*mean + sd*sd), P50: mean}
	}
	s, c := stats(9000, 0, 20, 80, 120, 0), stats(1000, 0, 20, 80, 120, 0)
	s.Predictions, c.Predictions = dist(9000, 0.09, 0.001), dist(1000, 0.0901, 0.001)
	got := judge.DefaultThresholds().Judge(&modelgate.Window{Stable: s, Canary: c}, modelgate.Progress{Final: true})
	for _, ch := range got.Checks {
		if ch.Name == "prediction_mean" && (strings.Contains(ch.Summary, "spread") || ch.Limit != 0.09*0.05) {
			t.Fatalf("prediction_mean: limit %v, summary %q; want 5%% of 0.09 and no mention of a spread", ch.Limit, ch.Summary)
		}
	}
}
