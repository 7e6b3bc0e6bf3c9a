package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/modelgate/modelgate/judge"
)

func main() {
	err := run(os.Args[1:], os.Stdout)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "judgesim:", err)
		os.Exit(1)
	}
}

func run(args []string, out io.Writer) error {
	if len(args) > 0 {
		switch args[0] {
		case "sim":
			return runSim(args[1:], out)
		case "drift-data":
			return runDriftData(args[1:], out)
		case "drift":
			return runDrift(args[1:], out)
		case "plan":
			return runPlan(args[1:], out)
		}
	}
	return runSim(args, out)
}

// scenarios maps a name to how it changes the canary.
var scenarioNames = []string{"aa", "retrain", "errors2x", "p95+80ms", "v3", "x3", "predshift0.2sd", "errors+0.25pp", "errors+0.5pp"}

func scenario(name string, base simConfig) (simConfig, error) {
	c := base
	switch name {
	case "aa":
	case "retrain":
		// A different model doing the same job: predictions correlate 0.95
		// with production's, 2% lower on average; same errors and latency.
		c.Correlation, c.RelShift = 0.95, -0.02
	case "v3":
		// Fine offline, far off live on a segment: +70% on 30% of requests
		// (the example's v3 on dates beyond its training range).
		c.Correlation, c.SegmentShare, c.SegmentFactor = 0.95, 0.3, 1.7
	case "x3":
		// Forecasts three times too high everywhere.
		c.Correlation, c.RelShift = 0.95, 2
	case "errors2x":
		c.CanaryErrors = 2 * base.ErrorRate
	case "p95+80ms":
		c.CanaryP95Add = 80
	case "predshift0.2sd":
		c.CanaryShift = 0.2
	case "errors+0.25pp":
		c.CanaryErrors = base.ErrorRate + 0.0025
	case "errors+0.5pp":
		c.CanaryErrors = base.ErrorRate + 0.005
	default:
		// errors=R: the canary fails a share R of its requests (to check a
		// power plan's claim).
		if r, ok := strings.CutPrefix(name, "errors="); ok {
			v, err := strconv.ParseFloat(r, 64)
			if err == nil && v >= 0 && v < 1 {
				c.CanaryErrors = v
				return c, nil
			}
		}
		return c, fmt.Errorf("unknown scenario %q (known: %s, errors=RATE)", name, strings.Join(scenarioNames, ", "))
	}
	return c, nil
}

func runSim(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("judgesim sim", flag.ContinueOnError)
	var c simConfig
	runs := fs.Int("runs", 1000, "simulated canaries per scenario")
	seed := fs.Uint64("seed", 1, "random seed; run i of every scenario uses the stream (seed, i)")
	workers := fs.Int("workers", runtime.GOMAXPROCS(0), "parallel simulations")
	scen := fs.String("scenarios", strings.Join(scenarioNames, ","), "comma-separated scenarios: "+strings.Join(scenarioNames, ", "))
	fs.DurationVar(&c.Window, "window", 30*time.Minute, "canary window")
	fs.DurationVar(&c.Interval, "interval", 30*time.Second, "time between the sequential judge's looks (canary.interval)")
	fs.DurationVar(&c.NaiveEvery, "naive-interval", time.Minute, "time between the naive judges' looks")
	fs.IntVar(&c.RPS, "rps", 100, "requests per second, both arms together")
	pct := fs.Float64("percent", 10, "share of requests sent to the canary, percent")
	fs.Float64Var(&c.ErrorRate, "error-rate", 0.01, "error rate of production (and of the canary unless the scenario changes it)")
	fs.Float64Var(&c.LatencyMed, "latency-median", 30, "median latency, ms (log-normal)")
	fs.Float64Var(&c.LatencySigma, "latency-sigma", 0.6, "log-normal shape of latency (0.6: p95 ≈ 2.7× the median)")
	fs.Float64Var(&c.PredMean, "prediction-mean", 100, "mean prediction (normal)")
	fs.Float64Var(&c.PredSD, "prediction-sd", 20, "standard deviation of predictions")
	alpha := fs.Float64("alpha", 0.05, "sequential judge's overall level")
	strict := fs.Bool("strict-error-margin", false, "error-rate check fails only when its confidence sequence clears the margin")
	predMargin := fs.Float64("prediction-margin", judge.DefaultSequential().PredictionMargin, "largest acceptable KS distance of predictions when staging justified none")
	predTol := fs.Float64("prediction-tolerance", judge.DefaultSequential().PredictionTolerance, "largest acceptable relative shift of the mean prediction when staging justified none")
	rule := fs.String("rule", string(judge.RulePlaybook), "end-of-window rule: playbook or strict")
	fs.Float64Var(&c.Mirror, "mirror", 0, "share of production's requests mirrored to the canary for paired comparison (the local gateway's canary.mirror_percent/100)")
	def := judge.DefaultSequential()
	errMargin := fs.Float64("error-margin", def.ErrorRateMargin, "error-rate margin, absolute")
	p95Margin := fs.Duration("p95-margin", def.LatencyP95Margin, "latency p95 margin")
	relTol := fs.Float64("relative-tolerance", def.RelativeTolerance, "relative tolerance of latency p50 and p99")
	floor := fs.Duration("latency-floor", def.LatencyFloor, "smallest latency difference that counts for the relative checks")
	minReq := fs.Int64("min-requests", def.MinRequests, "requests per arm before any check can pass or fail")
	prior := fs.Float64("prior-strength", def.PriorStrength, "Beta prior weight of the count tests")
	early := fs.Bool("early-promotion", false, "let the sequential judge promote before the window ends")
	zAlpha := fs.Float64("ztest-alpha", 0.05, "level of the naive one-sided z-test at every naive look")
	output := fs.String("o", "table", "output: table or json")
	jsonFile := fs.String("json", "", "also write the JSON results to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	c.CanaryShare = *pct / 100
	c.CanaryErrors = c.ErrorRate
	seq := judge.DefaultSequential()
	seq.Alpha, seq.StrictErrorMargin, seq.PredictionMargin, seq.PredictionTolerance = *alpha, *strict, *predMargin, *predTol
	switch judge.Rule(*rule) {
	case judge.RulePlaybook, judge.RuleStrict:
		seq.Rule = judge.Rule(*rule)
	default:
		return fmt.Errorf("-rule %q: expected playbook or strict", *rule)
	}
	seq.ErrorRateMargin, seq.LatencyP95Margin, seq.RelativeTolerance, seq.LatencyFloor = *errMargin, *p95Margin, *relTol, *floor
	seq.MinRequests, seq.PriorStrength, seq.EarlyPromotion = *minReq, *prior, *early
	naive := judge.DefaultThresholds()
	naive.ErrorRateMargin, naive.LatencyP95Margin, naive.RelativeTolerance, naive.LatencyFloor, naive.MinRequests = *errMargin, *p95Margin, *relTol, *floor, *minReq
	type result struct {
		Config  simConfig        `json:"config"`
		Judge   judge.Sequential `json:"sequential"`
		Summary summary          `json:"summary"`
		Took    string           `json:"took"`
	}
	var results []result
	for _, name := range strings.Split(*scen, ",") {
		sc, err := scenario(strings.TrimSpace(name), c)
		if err != nil {
			return err
		}
		start := time.Now()
		rs := runBatch(sc, seq, naive, *zAlpha, *seed, *runs, *workers)
		results = append(results, result{Config: sc, Judge: seq, Summary: summarise(name, rs), Took: time.Since(start).Round(time.Millisecond).String()})
		if *output != "json" {
			printSummary(out, results[len(results)-1].Summary, results[len(results)-1].Took)
		}
	}
	b, err := json.MarshalIndent(results, "", "  ")
	if err != nil {
		return err
	}
	if *jsonFile != "" {
		if err := os.WriteFile(*jsonFile, append(b, '\n'), 0o644); err != nil {
			return err
		}
	}
	if *output == "json" {
		_, err = fmt.Fprintf(out, "%s\n", b)
	}
	return err
}

func printSummary(w io.Writer, s summary, took string) {
	fmt.Fprintf(w, "scenario %s: %d canaries (%s)\n", s.Scenario, s.Runs, took)
	fmt.Fprintf(w, "  %-40s %s\n", "sequential judge: rolled back", fmtRate(s.Rollback))
	fmt.Fprintf(w, "  %-40s promote %.3f, hold %.3f\n", "sequential judge: otherwise at the end", s.Promote, s.Hold)
	fmt.Fprintf(w, "  %-40s %s\n", "  minutes to rollback", fmtQ(s.DetectMinutes))
	fmt.Fprintf(w, "  %-40s %v\n", "  failed checks at rollback", s.FailedChecks)
	fmt.Fprintf(w, "  %-40s %v\n", "  checks holding at the end", s.HeldChecks)
	fmt.Fprintf(w, "  %-40s %s\n", "naive: judge.Thresholds every look", fmtRate(s.Naive))
	fmt.Fprintf(w, "  %-40s %s\n", "  minutes to rollback", fmtQ(s.NaiveMinutes))
	fmt.Fprintf(w, "  %-40s %s\n", "naive: z-test on errors every look", fmtRate(s.ZTest))
	fmt.Fprintf(w, "  %-40s %s\n", "  minutes to rollback", fmtQ(s.ZTestMinutes))
}

func fmtRate(r rate) string {
	return fmt.Sprintf("%.4f (%d; 95%% CI %.4f–%.4f)", r.P, r.K, r.Low, r.High)
}

func fmtQ(q *quantiles) string {
	if q == nil {
		return "-"
	}
	return fmt.Sprintf("n=%d min %.1f p10 %.1f p25 %.1f median %.1f p75 %.1f p90 %.1f p95 %.1f max %.1f (mean %.2f)",
		q.N, q.Min, q.P10, q.P25, q.Median, q.P75, q.P90, q.P95, q.Max, q.Mean)
}
