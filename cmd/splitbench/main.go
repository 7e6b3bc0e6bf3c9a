package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/modelgate/modelgate/gateway/loadgen"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	switch {
	case len(os.Args) > 1 && os.Args[1] == "proxy":
		err = runProxy(ctx, os.Args[2:])
	case len(os.Args) > 1 && os.Args[1] == "loop":
		err = runLoopCmd(ctx, os.Args[2:])
	case len(os.Args) > 1 && os.Args[1] == "load":
		err = runLoad(ctx, os.Args[2:], os.Stdout)
	default:
		err = runBench(ctx, os.Args[1:], os.Stdout)
	}
	if err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintln(os.Stderr, "splitbench:", err)
		os.Exit(1)
	}
}

// options configure the comparison.
type options struct {
	bin      string // directory holding trivialhandler and splitbench
	example  string
	duration time.Duration
	warmup   time.Duration
	conns    int
	rounds   int
	percent  int
	profile  string // the gateway's CPU profile, "" for none
	unloaded bool   // also measure latency with one connection
	goloop   bool   // also measure the reference forwarder (splitbench loop)
	loopSpin time.Duration
	busyPoll time.Duration // also measure the gateway busy polling this long (row modelgate-bp)
	// fractions of the first direct run's req/s at which latency is
	// measured open loop
	fractions []float64
}

func parseOptions(args []string) (options, error) {
	var o options
	exe, _ := os.Executable()
	fs := flag.NewFlagSet("splitbench", flag.ContinueOnError)
	fs.StringVar(&o.bin, "bin", filepath.Dir(exe), "directory holding the trivialhandler and splitbench binaries")
	fs.StringVar(&o.example, "example", "examples/demand-forecast", "example directory with data/live_requests.csv")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "measured wrk run per proxy (whole seconds)")
	fs.DurationVar(&o.warmup, "warmup", 2*time.Second, "unmeasured wrk run before each measured one; 0 for none")
	fs.IntVar(&o.conns, "c", 32, "wrk connections")
	fs.IntVar(&o.rounds, "rounds", 1, "rounds of direct and each proxy (the proxies in turn first); the JSON holds each proxy's median round by req/s")
	fs.IntVar(&o.percent, "percent", 10, "canary percent")
	fs.BoolVar(&o.unloaded, "unloaded", true, "also measure p50/p99 with one wrk connection, for half the duration")
	fs.StringVar(&o.profile, "cpuprofile", "", "write the gateway's CPU profile (whole process life) to this file")
	fs.BoolVar(&o.goloop, "goloop", false, "also measure \"goloop\", a bare one-thread epoll forwarder in Go (splitbench loop; Linux): what proxying costs a Go program that does nothing else")
	fs.DurationVar(&o.loopSpin, "goloop-spin", 0, "with -goloop: the forwarder polls without sleeping this long after each event (splitbench loop -spin), a control for what waking a sleeping proxy costs the other core")
	fs.DurationVar(&o.busyPoll, "busy-poll", 0, "also measure \"modelgate-bp\": the gateway polling the network this long after each event instead of sleeping (gateway.Options.BusyPoll, such as 200us; Linux)")
	rates := fs.String("rates", "0.2,0.4,0.6", "open-loop rates, as fractions of the first direct run's req/s, at which p50/p99 and CPU are measured too (half the duration each); \"\" for none")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	for f := range strings.SplitSeq(*rates, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		x, err := strconv.ParseFloat(f, 64)
		if err != nil || x <= 0 || x >= 1 {
			return o, fmt.Errorf("-rates %q: want fractions between 0 and 1, such as 0.2,0.4,0.6", *rates)
		}
		o.fractions = append(o.fractions, x)
	}
	if o.loopSpin < 0 || (o.loopSpin > 0 && !o.goloop) {
		return o, errors.New("-goloop-spin: give a duration such as 200us, together with -goloop")
	}
	if o.goloop && !loopSupported {
		return o, errors.New("-goloop: the reference forwarder runs on Linux only")
	}
	if o.busyPoll < 0 {
		return o, errors.New("-busy-poll: give a duration such as 200us")
	}
	if fs.NArg() > 0 || o.duration < time.Second || o.conns < 1 || o.rounds < 1 || o.percent < 1 || o.percent > 99 {
		return o, errors.New("usage: splitbench [-goloop [-goloop-spin 200us]] [-busy-poll 200us] [-duration 10s] [-warmup 2s] [-c 32] [-rounds 1] [-percent 10] [-rates 0.2,0.4,0.6] [-bin DIR] [-example DIR]")
	}
	return o, nil
}

// row is one measured run.
type row struct {
	Proxy         string     `json:"proxy"`
	RPS           float64    `json:"rps"`
	P50US         int64      `json:"p50_us"`
	P99US         int64      `json:"p99_us"`
	P50C1US       int64      `json:"p50_c1_us"` // with one connection (-unloaded)
	P99C1US       int64      `json:"p99_c1_us"`
	ProxyCPUUS    float64    `json:"proxy_cpu_us_per_req"`
	UpstreamCPUUS float64    `json:"upstream_cpu_us_per_req"`
	ProxySleeps   float64    `json:"proxy_sleeps_per_req"` // the proxy's voluntary context switches
	IPIs          [2]float64 `json:"ipis_per_req"`         // wake-up interrupts to cores 0 and 1; -1 where not counted
	Requests      int64      `json:"requests"`
	WrkErrors     int64      `json:"wrk_errors"`
	ProxyErrors   int64      `json:"proxy_errors"`   // the gateway's own count; -1 where not measured
	ProxyRequests int64      `json:"proxy_requests"` // the gateway's own count; -1 where not measured
	Rates         []rateRow  `json:"rates,omitempty"`
}

// rateRow is one open-loop run at a fixed rate.
type rateRow struct {
	Rate          float64 `json:"rate"`
	P50US         int64   `json:"p50_us"` // from the moment each request was due
	P99US         int64   `json:"p99_us"`
	ProxyCPUUS    float64 `json:"proxy_cpu_us_per_req"`
	UpstreamCPUUS float64 `json:"upstream_cpu_us_per_req"`
	Errors        int64   `json:"errors"`       // not 2xx, broken or unanswered
	ProxyErrors   int64   `json:"proxy_errors"` // the gateway's own count; -1 where not measured
}

// bench is what every run shares.
type bench struct {
	o        options
	dir      string
	script   string
	rates    []float64 // open-loop req/s, set by the first direct run
	upstream *proc
	upURL    string
}

func runBench(ctx context.Context, args []string, w io.Writer) error {
	o, err := parseOptions(args)
	if err != nil {
		return err
	}
	b, cleanup, err := setUp(ctx, o)
	if err != nil {
		return err
	}
	defer cleanup()
	var all []row
	for round := range o.rounds {
		for _, name := range roundOrder(round, o.proxies()) {
			r, err := b.run(ctx, name)
			if err != nil {
				return fmt.Errorf("round %d, %s: %w", round+1, name, err)
			}
			all = append(all, r)
		}
	}
	printTable(w, o, all)
	printRates(w, o, all)
	return printJSON(w, all)
}

// allProxies is every proxy a run can measure, in the tables' order.
var allProxies = []string{"nginx", "modelgate", "modelgate-bp", "goloop"}

// proxies are the proxies o measures, in the tables' order.
func (o options) proxies() []string {
	return slices.DeleteFunc(slices.Clone(allProxies), func(name string) bool {
		return name == "modelgate-bp" && o.busyPoll == 0 || name == "goloop" && !o.goloop
	})
}

// roundOrder is the order of the runs in round (from 0): the direct run
// first, then the proxies, each first in turn, so that none always runs on
// the machine another has just warmed or loaded.
func roundOrder(round int, proxies []string) []string {
	k := round % len(proxies)
	return slices.Concat([]string{"direct"}, proxies[k:], proxies[:k])
}

// proxiesIn are the proxies rows hold (nginx and modelgate always), in
// the tables' order.
func proxiesIn(rows []row) []string {
	return slices.DeleteFunc(slices.Clone(allProxies), func(name string) bool {
		return name != "nginx" && name != "modelgate" && !slices.ContainsFunc(rows, func(r row) bool { return r.Proxy == name })
	})
}

// setUp writes the wrk script and starts the upstream on core 1.
func setUp(ctx context.Context, o options) (*bench, func(), error) {
	instances, err := loadgen.ReadInstances(filepath.Join(o.example, "data", "live_requests.csv"))
	if err != nil {
		return nil, nil, err
	}
	dir, err := os.MkdirTemp("", "splitbench-")
	if err != nil {
		return nil, nil, err
	}
	b := &bench{o: o, dir: dir, script: filepath.Join(dir, "post.lua")}
	if err := os.WriteFile(b.script, []byte(luaScript(loadgen.V1Bodies(instances))), 0o600); err != nil {
		os.RemoveAll(dir)
		return nil, nil, err
	}
	port, err := freePort()
	if err == nil {
		b.upURL = fmt.Sprintf("http://127.0.0.1:%d", port)
		b.upstream, err = startPinned("trivialhandler", 1, dir, nil, filepath.Join(o.bin, "trivialhandler"), "-listen", b.upURL[len("http://"):])
	}
	if err == nil {
		err = waitPredict(ctx, b.upURL, 10*time.Second)
	}
	cleanup := func() {
		if b.upstream != nil {
			b.upstream.stop()
		}
		os.RemoveAll(dir)
	}
	if err != nil {
		cleanup()
		return nil, nil, fmt.Errorf("upstream: %w", err)
	}
	return b, cleanup, nil
}

// printTable prints one line per run.
func printTable(w io.Writer, o options, rows []row) {
	fmt.Fprintf(w, "# splitbench: wrk -t1 -c%d -d%s, one-instance V1 bodies; proxy on core 0 (the gateway at serve's GOGC=400), trivialhandler and wrk on core 1; %d%% canary\n",
		o.conns, o.duration, o.percent)
	if o.loopSpin > 0 {
		fmt.Fprintf(w, "# goloop spins %s after each event before it sleeps\n", o.loopSpin)
	}
	if o.busyPoll > 0 {
		fmt.Fprintf(w, "# modelgate-bp is the gateway polling the network %s after each event before it sleeps (busy_poll)\n", o.busyPoll)
	}
	fmt.Fprintf(w, "%-12s %9s %8s %8s %9s %9s %12s %12s %10s %8s %8s %9s %10s %10s\n",
		"proxy", "req/s", "p50 µs", "p99 µs", "c1 p50", "c1 p99", "proxy µs/req", "upstr µs/req", "sleeps/req", "IPI0/req", "IPI1/req",
		"wrk errs", "gw errors", "gw reqs")
	for _, r := range rows {
		fmt.Fprintf(w, "%-12s %9.0f %8d %8d %9d %9d %12.1f %12.1f %10.3f %8.3f %8.3f %9d %10s %10s\n", r.Proxy, r.RPS, r.P50US, r.P99US,
			r.P50C1US, r.P99C1US, r.ProxyCPUUS, r.UpstreamCPUUS, r.ProxySleeps, r.IPIs[0], r.IPIs[1],
			r.WrkErrors, count(r.ProxyErrors), count(r.ProxyRequests))
	}
}

// printRates prints one line per open-loop run, after the closed-loop table.
func printRates(w io.Writer, o options, rows []row) {
	if len(o.fractions) == 0 {
		return
	}
	fmt.Fprintf(w, "# open loop at fixed rates (fractions %v of the first direct run's req/s), %s each after 1 s unmeasured, 64 connections, latency from the moment each request was due\n",
		o.fractions, max(time.Second, o.duration/2))
	fmt.Fprintf(w, "%-12s %9s %8s %8s %12s %12s %9s %10s\n", "proxy", "rate", "p50 µs", "p99 µs", "proxy µs/req", "upstr µs/req", "errors", "gw errors")
	for _, r := range rows {
		for _, rr := range r.Rates {
			fmt.Fprintf(w, "%-12s %9.0f %8d %8d %12.1f %12.1f %9d %10s\n", r.Proxy, rr.Rate, rr.P50US, rr.P99US,
				rr.ProxyCPUUS, rr.UpstreamCPUUS, rr.Errors, count(rr.ProxyErrors))
		}
	}
}

func count(n int64) string {
	if n < 0 {
		return "-"
	}
	return fmt.Sprint(n)
}

// printJSON prints one line: each proxy's median round and the ratios the
// goals are stated in.
func printJSON(w io.Writer, rows []row) error {
	proxies := proxiesIn(rows)
	med := map[string]row{"direct": medianRow(rows, "direct")}
	out := map[string]any{"direct": med["direct"]}
	for _, name := range proxies {
		med[name] = medianRow(rows, name)
		out[name] = med[name]
	}
	if n := med["nginx"]; n.RPS > 0 {
		g := med["modelgate"]
		out["rps_ratio"] = round3(g.RPS / n.RPS)
		c32 := func(r row) int64 { return r.P50US }
		c1 := func(r row) int64 { return r.P50C1US }
		added, addedC1 := map[string]int64{}, map[string]int64{}
		for _, name := range proxies {
			added[name], addedC1[name] = addedMedian(rows, name, c32), addedMedian(rows, name, c1)
		}
		out["added_p50_us"], out["added_p50_c1_us"] = added, addedC1
		errs := map[string]int64{"modelgate_counted": g.ProxyErrors, "wrk_saw": g.WrkErrors}
		if bp := med["modelgate-bp"]; bp.Proxy != "" && bp.RPS > 0 {
			out["rps_ratio_busy_poll"] = round3(bp.RPS / n.RPS)
			errs["modelgate_bp_counted"], errs["modelgate_bp_wrk_saw"] = bp.ProxyErrors, bp.WrkErrors
		}
		out["errors"] = errs
		out["fixed_rates"] = fixedRateSummary(rows)
	}
	b, err := json.Marshal(out)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(w, string(b))
	return err
}

// addedMedian is the latency name adds to a direct request: per round,
// name's figure less direct's measured minutes before in the same round
// (pairing them cancels most of the machine's drift between rounds),
// then the median over the rounds.
func addedMedian(rows []row, name string, of func(row) int64) int64 {
	var direct, proxy []int64
	for _, r := range rows {
		switch r.Proxy {
		case "direct":
			direct = append(direct, of(r))
		case name:
			proxy = append(proxy, of(r))
		}
	}
	n := min(len(direct), len(proxy))
	if n == 0 {
		return 0
	}
	added := make([]int64, n)
	for i := range added {
		added[i] = proxy[i] - direct[i]
	}
	return median(added)
}

// medianRow is name's run with the median req/s.
func medianRow(rows []row, name string) row {
	var of []row
	for _, r := range rows {
		if r.Proxy == name {
			of = append(of, r)
		}
	}
	for i := 1; i < len(of); i++ { // insertion sort by req/s: a few rounds
		for j := i; j > 0 && of[j].RPS < of[j-1].RPS; j-- {
			of[j], of[j-1] = of[j-1], of[j]
		}
	}
	if len(of) == 0 {
		return row{Proxy: name}
	}
	return of[len(of)/2]
}

func round3(x float64) float64 { return float64(int64(x*1000+0.5)) / 1000 }

func randomToken() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func trimScheme(url string) string { return strings.TrimPrefix(url, "http://") }

// rateSummary is one fixed rate's figures over the rounds: added p50s as
// addedMedian pairs them, the rest medians.
type rateSummary struct {
	Rate          float64            `json:"rate"`
	AddedP50US    map[string]int64   `json:"added_p50_us"`
	P99US         map[string]int64   `json:"p99_us"`
	UpstreamCPUUS map[string]float64 `json:"upstream_cpu_us_per_req"`
	ProxyCPUUS    map[string]float64 `json:"proxy_cpu_us_per_req"`
	Errors        map[string]int64   `json:"errors"`
}

func fixedRateSummary(rows []row) []rateSummary {
	var out []rateSummary
	for i := 0; ; i++ {
		at := func(r row) (rateRow, bool) {
			if i < len(r.Rates) {
				return r.Rates[i], true
			}
			return rateRow{}, false
		}
		first, ok := at(medianRow(rows, "direct"))
		if !ok {
			return out
		}
		s := rateSummary{Rate: first.Rate, AddedP50US: map[string]int64{}, P99US: map[string]int64{},
			UpstreamCPUUS: map[string]float64{}, ProxyCPUUS: map[string]float64{}, Errors: map[string]int64{}}
		for _, name := range append([]string{"direct"}, proxiesIn(rows)...) {
			var p99, errs []int64
			var up, px []float64
			for _, r := range rows {
				if rr, ok := at(r); ok && r.Proxy == name {
					p99, errs = append(p99, rr.P99US), append(errs, rr.Errors)
					up, px = append(up, rr.UpstreamCPUUS), append(px, rr.ProxyCPUUS)
				}
			}
			s.P99US[name], s.UpstreamCPUUS[name] = median(p99), round3(median(up))
			s.Errors[name] = sum(errs)
			if name != "direct" {
				s.ProxyCPUUS[name] = round3(median(px))
				s.AddedP50US[name] = addedMedian(rows, name, func(r row) int64 { rr, _ := at(r); return rr.P50US })
			}
		}
		out = append(out, s)
	}
}

func median[T int64 | float64](xs []T) T {
	if len(xs) == 0 {
		return 0
	}
	xs = slices.Clone(xs)
	slices.Sort(xs)
	if n := len(xs); n%2 == 0 {
		return (xs[n/2-1] + xs[n/2]) / 2
	}
	return xs[len(xs)/2]
}

func sum(xs []int64) int64 {
	var t int64
	for _, x := range xs {
		t += x
	}
	return t
}
