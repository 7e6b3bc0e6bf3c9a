package judge_test

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/judge"
)

// The plan projects the first minute's traffic to the end of the window:
// at 10 req/s it says the error margin is out of reach, at 100 req/s it
// finds nothing out of reach. (judgesim checks its power claims:
// `judgesim plan`.)
func TestPlan(t *testing.T) {
	for _, tt := range []struct {
		rps      int
		warnings []string
	}{
		{10, []string{"error-rate margin"}},
		{100, nil},
	} {
		r := rand.New(rand.NewPCG(1, uint64(tt.rps)))
		n := 60 * tt.rps
		w := &modelgate.Window{Stable: buildArm(r, arm{n: n * 9 / 10, errRate: 0.01, catShares: []float64{1}}),
			Canary: buildArm(r, arm{n: n / 10, errRate: 0.01, catShares: []float64{1}})}
		plan := judge.DefaultSequential().Plan(w, modelgate.Progress{Elapsed: time.Minute, Window: 30 * time.Minute})
		text := strings.Join(plan.Lines, "\n")
		for _, want := range []string{"the 30m window will see about", "Errors:", "Latency:", "Predictions:", "power or more"} {
			if !strings.Contains(text, want) {
				t.Errorf("%d req/s: plan lacks %q:\n%s", tt.rps, want, text)
			}
		}
		warned := strings.Join(plan.Warnings, "\n")
		if (tt.warnings == nil) != (warned == "") {
			t.Fatalf("%d req/s: warnings %q, want %q", tt.rps, plan.Warnings, tt.warnings)
		}
		for _, want := range tt.warnings {
			if !strings.Contains(warned, want) {
				t.Errorf("%d req/s: warnings %q, want one about %s", tt.rps, plan.Warnings, want)
			}
		}
	}
}
