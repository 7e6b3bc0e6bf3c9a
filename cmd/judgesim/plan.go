package main

import (
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"time"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/judge"
)

// runPlan prints the judge's power plan for a canary whose first look
// (after -after) saw identical arms at the given traffic, so the plan's
// claims can be checked with the sim (e.g. `-scenarios errors=0.023`).
func runPlan(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("judgesim plan", flag.ContinueOnError)
	c := simConfig{LatencyMed: 30, LatencySigma: 0.6, PredMean: 100, PredSD: 20}
	fs.IntVar(&c.RPS, "rps", 100, "requests per second, both arms together")
	pct := fs.Float64("percent", 10, "share of requests sent to the canary, percent")
	fs.Float64Var(&c.ErrorRate, "error-rate", 0.01, "error rate of both arms")
	window := fs.Duration("window", 30*time.Minute, "canary window")
	after := fs.Duration("after", time.Minute, "when the plan is made")
	seed := fs.Uint64("seed", 1, "random seed")
	if err := fs.Parse(args); err != nil {
		return err
	}
	c.CanaryShare, c.CanaryErrors = *pct/100, c.ErrorRate
	r := rand.New(rand.NewPCG(*seed, 0))
	prod, can := newArm(), newArm()
	for range int(after.Seconds()) * c.RPS {
		a, pErr := prod, c.ErrorRate
		if r.Float64() < c.CanaryShare {
			a = can
		}
		a.requests++
		a.latency.Add(math.Exp(math.Log(c.LatencyMed) + c.LatencySigma*r.NormFloat64()))
		if r.Float64() < pErr {
			a.errors++
			continue
		}
		p, _ := c.predictions(r)
		a.preds.Add(p)
	}
	w := &modelgate.Window{Stable: prod.stats("v1"), Canary: can.stats("v2")}
	plan := judge.DefaultSequential().Plan(w, modelgate.Progress{Elapsed: *after, Window: *window})
	for _, l := range append(plan.Lines, plan.Warnings...) {
		fmt.Fprintln(out, l)
	}
	return nil
}
