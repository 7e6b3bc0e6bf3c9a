package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/modelgate/modelgate/gateway/loadgen"
)

const model = "demand-forecast"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "gatewaybench:", err)
		os.Exit(1)
	}
}

type options struct {
	rates       []float64
	duration    time.Duration
	warmup      time.Duration
	concurrency int
	closed      int
	canary      bool
	example     string
	output      string
}

func parseFlags(args []string) (options, error) {
	var o options
	fs := flag.NewFlagSet("gatewaybench", flag.ContinueOnError)
	rates := fs.String("rates", "500,1000,2000,4000", "offered loads in requests/s, comma-separated")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "measured time at each rate and of the closed loop")
	fs.DurationVar(&o.warmup, "warmup", time.Second, "unmeasured load at each rate before measuring")
	fs.IntVar(&o.concurrency, "concurrency", 64, "open loop: connections opened up front; a request due while all are busy waits for one")
	fs.IntVar(&o.closed, "closed", 16, "max throughput: this many clients send back to back for -duration; 0 skips it")
	fs.BoolVar(&o.canary, "canary", false, "serve v1 as stable and v2 as a 10% canary instead of v2 alone")
	fs.StringVar(&o.example, "example", "examples/demand-forecast", "example directory with models/v1, models/v2 and data/live_requests.csv")
	fs.StringVar(&o.output, "o", "table", "output: table or json")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	for _, s := range strings.Split(*rates, ",") {
		r, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil || r <= 0 {
			return o, fmt.Errorf("-rates: %q is not a positive number", s)
		}
		o.rates = append(o.rates, r)
	}
	if o.output != "table" && o.output != "json" {
		return o, fmt.Errorf("-o: %q is not table or json", o.output)
	}
	if fs.NArg() > 0 || o.duration <= 0 || o.warmup < 0 || o.concurrency <= 0 || o.closed < 0 {
		return o, errors.New("usage: gatewaybench [-rates R,...] [-duration D] [-warmup D] [-concurrency N] [-closed N] [-canary] [-o table|json]")
	}
	return o, nil
}

// report is the JSON output; the table prints the same.
type report struct {
	GoVersion  string `json:"go_version"`
	Platform   string `json:"platform"`
	GOMAXPROCS int    `json:"gomaxprocs"`
	NumCPU     int    `json:"num_cpu"`
	LoadAvg    string `json:"load_avg,omitempty"` // /proc/loadavg's 1, 5, 15 min before the run
	Serving    string `json:"serving"`
	Request    string `json:"request"`
	Rows       []row  `json:"rows"`
}

// row is one measurement; latencies are in milliseconds.
type row struct {
	Mode        string  `json:"mode"`                  // open or closed
	Offered     float64 `json:"offered_rps,omitempty"` // open loop only
	Concurrency int     `json:"concurrency"`
	Achieved    float64 `json:"achieved_rps"` // answered requests per second
	Sent        int     `json:"sent"`
	OK          int     `json:"ok"`
	Errors      int     `json:"errors"`
	Waited      int     `json:"waited"` // open loop: due while every connection was busy
	P50         float64 `json:"p50_ms"`
	P90         float64 `json:"p90_ms"`
	P99         float64 `json:"p99_ms"`
	Max         float64 `json:"max_ms"`
}

func run(ctx context.Context, args []string, w io.Writer) error {
	if len(args) > 0 && args[0] == "drill" {
		return drill(ctx, args[1:], w)
	}
	o, err := parseFlags(args)
	if err != nil {
		return err
	}
	rows, err := loadgen.ReadInstances(filepath.Join(o.example, "data", "live_requests.csv"))
	if err != nil {
		return fmt.Errorf("live requests: %w", err)
	}
	bodies := loadgen.V1Bodies(rows)
	base, stop, err := startGateway(ctx, o)
	if err != nil {
		return err
	}
	defer stop()
	url := base + "/v1/models/" + model + ":predict"
	if err := post(ctx, newClient(1), url, bodies[0]); err != nil {
		return fmt.Errorf("the gateway does not answer predictions: %w", err)
	}
	rep := newReport(o, url)
	if o.output == "table" {
		printHeader(w, rep, o)
	}
	add := func(r row) {
		rep.Rows = append(rep.Rows, r)
		if o.output == "table" {
			printRow(w, r)
		}
	}
	for _, rate := range o.rates {
		r, err := openLoop(ctx, o, url, bodies, rate)
		if err != nil {
			return err
		}
		add(r)
	}
	if o.closed > 0 {
		add(closedLoop(ctx, o.closed, o.duration, url, bodies))
	}
	if o.output == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	return ctx.Err()
}

func newReport(o options, url string) report {
	serving := "v2 stable, no canary"
	if o.canary {
		serving = "v1 stable 90%, v2 canary 10%"
	}
	return report{
		GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH,
		GOMAXPROCS: runtime.GOMAXPROCS(0), NumCPU: runtime.NumCPU(), Serving: serving,
		Request: "POST " + url + ", one instance per request", LoadAvg: loadAvg(),
	}
}

// loadAvg is the machine's load average on Linux, "" elsewhere: other work
// on the machine skews the numbers.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) >= 3 {
		return strings.Join(f[:3], " ")
	}
	return ""
}

func printHeader(w io.Writer, rep report, o options) {
	fmt.Fprintf(w, "# gatewaybench: %s (rows of %s)\n", rep.Request, filepath.Join(o.example, "data", "live_requests.csv"))
	fmt.Fprintf(w, "# serving %s: %s\n", model, rep.Serving)
	fmt.Fprintf(w, "# %s %s, GOMAXPROCS=%d, NumCPU=%d: load generator and gateway share one process and these CPUs; load average %s\n",
		rep.GoVersion, rep.Platform, rep.GOMAXPROCS, rep.NumCPU, cmp.Or(rep.LoadAvg, "unknown"))
	if loadgen.PacedSupported {
		fmt.Fprintf(w, "# open: %s per rate after a %s warm-up, paced to the microsecond on %d connections; a request due while all are busy waits; latency from when it was due\n",
			o.duration, o.warmup, o.concurrency)
	} else {
		fmt.Fprintf(w, "# open: %s per rate after a %s warm-up, on Go's millisecond timers (not Linux: latency up to 1 ms late); a request due while %d are in flight is dropped (column waited)\n",
			o.duration, o.warmup, o.concurrency)
	}
	if o.closed > 0 {
		fmt.Fprintf(w, "# closed/N: N clients send back to back for %s (max throughput)\n", o.duration)
	}
	fmt.Fprintf(w, "%-10s %9s %10s %8s %8s %7s %8s %8s %8s %8s %8s\n",
		"mode", "offered/s", "achieved/s", "sent", "ok", "errors", "waited", "p50 ms", "p90 ms", "p99 ms", "max ms")
}

func printRow(w io.Writer, r row) {
	mode, offered := r.Mode, "-"
	if r.Mode == "open" {
		offered = strconv.FormatFloat(r.Offered, 'f', -1, 64)
	} else {
		mode = fmt.Sprintf("closed/%d", r.Concurrency)
	}
	fmt.Fprintf(w, "%-10s %9s %10.1f %8d %8d %7d %8d %8.3f %8.3f %8.3f %8.3f\n",
		mode, offered, r.Achieved, r.Sent, r.OK, r.Errors, r.Waited, r.P50, r.P90, r.P99, r.Max)
}
