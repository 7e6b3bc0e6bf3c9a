package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/modelgate/modelgate/gateway/loadgen"
)

// result is one JSON line of the results file; Kind says which fields apply.
type result struct {
	Kind   string `json:"kind"` // closed, open or mem
	Server string `json:"server"`
	Body   string `json:"body,omitempty"` // single or batch100
	Round  int    `json:"round,omitempty"`

	// closed and open
	RPS    float64 `json:"rps,omitempty"` // answered per second
	P50ms  float64 `json:"p50_ms,omitempty"`
	P99ms  float64 `json:"p99_ms,omitempty"`
	Sent   int     `json:"sent,omitempty"`
	Errors int     `json:"errors"`

	// closed
	Connections int     `json:"connections,omitempty"`
	CPUSeconds  float64 `json:"cpu_s,omitempty"`
	CPUusPerReq float64 `json:"cpu_us_per_req,omitempty"`
	CPUShare    float64 `json:"cpu_share,omitempty"` // server CPU seconds per measured second: below 1, it did not have its core to itself

	// open
	Offered float64 `json:"offered_rps,omitempty"`
	Waited  int     `json:"waited"` // due while every connection was busy

	// mem
	PeakRSSKiB int64 `json:"peak_rss_kib,omitempty"`
	Procs      int   `json:"procs,omitempty"`
}

func appendResult(path string, r result) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// wrkSummary is the JSON line scripts/bench/wrk.lua prints when wrk is done.
type wrkSummary struct {
	Requests   int     `json:"requests"`
	DurationUS float64 `json:"duration_us"`
	Errors     int     `json:"errors"`
	P50us      float64 `json:"p50_us"`
	P99us      float64 `json:"p99_us"`
}

// closedCmd runs wrk against the server (a warm-up, then the measured run)
// and charges the server's CPU time over the measured run to its requests.
func closedCmd(ctx context.Context, args []string, w io.Writer) error {
	fs := flag.NewFlagSet("closed", flag.ContinueOnError)
	var r result
	fs.StringVar(&r.Server, "server", "", "server name")
	fs.StringVar(&r.Body, "body", "", "body name (single or batch100)")
	fs.IntVar(&r.Round, "round", 1, "round number, when servers are measured in turn more than once")
	pid := fs.Int("pid", 0, "server process id")
	url := fs.String("url", "", "predict URL")
	bodies := fs.String("bodies", "", "file of bodies, one a line")
	lua := fs.String("lua", "scripts/bench/wrk.lua", "wrk script")
	cpu := fs.String("cpu", "1", "CPU list wrk runs on (taskset -c)")
	fs.IntVar(&r.Connections, "connections", 32, "wrk connections (-c); one thread")
	d := fs.Duration("duration", 10*time.Second, "measured time")
	warm := fs.Duration("warmup", 2*time.Second, "unmeasured time before")
	out := fs.String("out", "", "results file (JSON lines, appended)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *pid <= 0 || *url == "" || *bodies == "" || *out == "" || r.Server == "" {
		return fmt.Errorf("closed: -server, -pid, -url, -bodies and -out are required")
	}
	wrk := func(d time.Duration) (wrkSummary, error) {
		return runWrk(ctx, *cpu, r.Connections, d, *lua, *url, *bodies)
	}
	if *warm > 0 {
		if _, err := wrk(*warm); err != nil {
			return err
		}
	}
	c0, err := treeCPU(*pid)
	if err != nil {
		return err
	}
	s, err := wrk(*d)
	if err != nil {
		return err
	}
	c1, err := treeCPU(*pid)
	if err != nil {
		return err
	}
	r.Kind, r.Sent, r.Errors = "closed", s.Requests, s.Errors
	r.RPS = float64(s.Requests-s.Errors) / (s.DurationUS / 1e6)
	r.P50ms, r.P99ms = s.P50us/1e3, s.P99us/1e3
	r.CPUSeconds = c1 - c0
	if s.Requests > 0 {
		r.CPUusPerReq = r.CPUSeconds / float64(s.Requests) * 1e6
	}
	if s.DurationUS > 0 {
		r.CPUShare = r.CPUSeconds / (s.DurationUS / 1e6)
	}
	fmt.Fprintf(w, "%-9s %-9s closed c=%d round %d: %8.0f req/s  p50 %7.2f ms  p99 %7.2f ms  errors %d  CPU %.0f µs/req (%.0f%% of a core)\n",
		r.Server, r.Body, r.Connections, r.Round, r.RPS, r.P50ms, r.P99ms, r.Errors, r.CPUusPerReq, 100*r.CPUShare)
	return appendResult(*out, r)
}

func runWrk(ctx context.Context, cpu string, conns int, d time.Duration, lua, url, bodies string) (wrkSummary, error) {
	cmd := exec.CommandContext(ctx, "taskset", "-c", cpu, "wrk", "-t1", "-c"+strconv.Itoa(conns),
		"-d"+strconv.Itoa(int(d.Seconds()))+"s", "--timeout", "10s", "-s", lua, url, "--", bodies)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return wrkSummary{}, fmt.Errorf("wrk: %w: %s", err, stderr.String())
	}
	sc := bufio.NewScanner(&stdout)
	for sc.Scan() {
		if j, ok := strings.CutPrefix(sc.Text(), "WRKJSON "); ok {
			var s wrkSummary
			if err := json.Unmarshal([]byte(j), &s); err != nil {
				return s, fmt.Errorf("wrk summary %q: %w", j, err)
			}
			return s, nil
		}
	}
	return wrkSummary{}, fmt.Errorf("wrk printed no summary (is %s its -s script?): %s", lua, stdout.String())
}

// openCmd offers each rate with gateway/loadgen's Paced: requests leave on
// schedule, to the microsecond, on -connections connections opened up
// front; one due while all are busy waits for one, its latency counted
// from when it was due.
func openCmd(ctx context.Context, args []string, w io.Writer) error {
	fs := flag.NewFlagSet("open", flag.ContinueOnError)
	server := fs.String("server", "", "server name")
	body := fs.String("body", "", "body name")
	target := fs.String("url", "", "predict URL, http://127.0.0.1:PORT/PATH")
	bodies := fs.String("bodies", "", "file of bodies, one a line")
	rates := fs.String("rates", "100,500", "offered rates, requests/s, comma-separated")
	d := fs.Duration("duration", 10*time.Second, "measured time per rate")
	warm := fs.Duration("warmup", 2*time.Second, "unmeasured time per rate before, at the same rate")
	conns := fs.Int("connections", 64, "connections opened up front")
	out := fs.String("out", "", "results file (JSON lines, appended)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	b, err := readLines(*bodies)
	if err != nil {
		return err
	}
	if *server == "" || *out == "" {
		return fmt.Errorf("open: -server and -out are required")
	}
	p, err := loadgen.PacedPosts(*target, b)
	if err != nil {
		return fmt.Errorf("open: -url: %w", err)
	}
	for _, s := range strings.Split(*rates, ",") {
		rate, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil || rate <= 0 {
			return fmt.Errorf("open: -rates: %q is not a positive number", s)
		}
		p.Rate, p.Conns, p.Warmup, p.Duration = rate, *conns, *warm, *d
		res, err := p.Run(ctx)
		if err != nil {
			return err
		}
		r := result{Kind: "open", Server: *server, Body: *body, Offered: rate, RPS: float64(res.Answered) / d.Seconds(),
			Sent: int(res.Sent), Errors: int(res.Status + res.Errors + res.Lost), Waited: int(res.Waited),
			P50ms: float64(res.P50US) / 1000, P99ms: float64(res.P99US) / 1000}
		fmt.Fprintf(w, "%-9s %-9s open %5.0f/s: %8.0f req/s  p50 %7.3f ms  p99 %7.3f ms  errors %d  waited %d\n",
			r.Server, r.Body, rate, r.RPS, r.P50ms, r.P99ms, r.Errors, r.Waited)
		if err := appendResult(*out, r); err != nil {
			return err
		}
	}
	return nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// memCmd records the server's peak RSS (VmHWM summed over its processes).
func memCmd(args []string, w io.Writer) error {
	fs := flag.NewFlagSet("mem", flag.ContinueOnError)
	server := fs.String("server", "", "server name")
	pid := fs.Int("pid", 0, "server process id")
	out := fs.String("out", "", "results file (JSON lines, appended)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	kib, procs, err := treeHWM(*pid)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "%-9s peak RSS %.1f MiB over %d process(es)\n", *server, float64(kib)/1024, procs)
	return appendResult(*out, result{Kind: "mem", Server: *server, PeakRSSKiB: kib, Procs: procs})
}
