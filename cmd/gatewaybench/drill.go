package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/modelgate/modelgate/gateway"
	"github.com/modelgate/modelgate/gateway/loadgen"
)

// drillOptions say which gateway the drills run against: one started apart
// (modelgate serve), so its memory is measured alone.
type drillOptions struct {
	url, admin, tokenFile, example string
	pid                            int
	instances                      int
	rate                           float64
	duration                       time.Duration
	percent, mirror                int
}

func parseDrill(args []string) (string, drillOptions, error) {
	var o drillOptions
	fs := flag.NewFlagSet("gatewaybench drill", flag.ContinueOnError)
	fs.StringVar(&o.url, "url", "http://127.0.0.1:8080", "the gateway's data plane")
	fs.StringVar(&o.admin, "admin", "http://127.0.0.1:8081", "the gateway's admin API")
	fs.StringVar(&o.tokenFile, "token-file", ".modelgate/admin-token", "the admin token's file")
	fs.StringVar(&o.example, "example", "examples/demand-forecast", "example directory with models/v1 and models/v2")
	fs.IntVar(&o.pid, "pid", 0, "soak: the gateway's process id, to sample its resident memory")
	fs.IntVar(&o.instances, "instances", 2_600_000, "big: instances in the one request")
	fs.Float64Var(&o.rate, "rate", 1000, "soak: requests per second")
	fs.DurationVar(&o.duration, "duration", 10*time.Minute, "soak: how long")
	fs.IntVar(&o.percent, "percent", 10, "setup: the canary's share")
	fs.IntVar(&o.mirror, "mirror", 10, "setup: the share of stable requests mirrored to the canary")
	if len(args) == 0 {
		return "", o, errors.New("usage: gatewaybench drill setup|stable|big|soak [flags]")
	}
	return args[0], o, fs.Parse(args[1:])
}

// drill runs one acceptance drill of the gateway's limits:
//
//	setup  serve the example's v1 as stable and v2 as a canary
//	stable serve the example's v2 alone (the single-instance wrk comparison)
//	big    one V1 request of -instances instances (about 12 bytes each)
//	soak   -rate requests/s for -duration with the split of setup
func drill(ctx context.Context, args []string, w io.Writer) error {
	what, o, err := parseDrill(args)
	if err != nil {
		return err
	}
	ep := gateway.Endpoints{URL: o.url, AdminURL: o.admin, AdminTokenFile: o.tokenFile, Client: newClient(1)}
	switch what {
	case "setup":
		return drillSetup(ctx, gateway.NewDeployerFor(ep), o)
	case "stable":
		v2, err := deployment(o.example, "2")
		if err != nil {
			return err
		}
		return gateway.NewDeployerFor(ep).SetStable(ctx, v2)
	case "big":
		return drillBig(ctx, o, w)
	case "soak":
		return drillSoak(ctx, ep, o, w)
	}
	return fmt.Errorf("drill %q: expected setup, stable, big or soak", what)
}

func drillSetup(ctx context.Context, d *gateway.Deployer, o drillOptions) error {
	v1, err := deployment(o.example, "1")
	if err != nil {
		return err
	}
	v2, err := deployment(o.example, "2")
	if err != nil {
		return err
	}
	if err := d.SetStable(ctx, v1); err != nil {
		return err
	}
	d.MirrorPercent = o.mirror
	return d.StartCanary(ctx, v2, o.percent)
}

// drillBig sends one request of o.instances array instances, with its
// length declared and then streamed without one, and reports each answer
// and how long it took.
func drillBig(ctx context.Context, o drillOptions, w io.Writer) error {
	var b bytes.Buffer
	b.WriteString(`{"instances": [`)
	for i := range o.instances {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("[12,1,2,11]")
	}
	b.WriteString("]}")
	body := b.Bytes()
	url := o.url + "/v1/models/" + model + ":predict"
	for _, streamed := range []bool{false, true} {
		var r io.Reader = bytes.NewReader(body)
		if streamed {
			r = io.MultiReader(r) // hides the length: sent chunked
		}
		start := time.Now()
		status, answer, err := send(ctx, url, r)
		fmt.Fprintf(w, "big request: %d instances, %d bytes, streamed=%v: %d in %s: %.160s %v\n",
			o.instances, len(body), streamed, status, time.Since(start).Round(time.Millisecond), answer, errOrNil(err))
	}
	return nil
}

func send(ctx context.Context, url string, body io.Reader) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, body)
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{Timeout: time.Minute}).Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(b)), err
}

func errOrNil(err error) string {
	if err == nil {
		return ""
	}
	return "(" + err.Error() + ")"
}

// drillSoak sends o.rate requests/s for o.duration, samples the gateway's
// resident memory every tenth of the run, then reads the split's figures.
func drillSoak(ctx context.Context, ep gateway.Endpoints, o drillOptions, w io.Writer) error {
	rows, err := loadgen.ReadInstances(filepath.Join(o.example, "data", "live_requests.csv"))
	if err != nil {
		return err
	}
	bodies := loadgen.V1Bodies(rows)
	done := make(chan struct{})
	go sampleRSS(o.pid, o.duration/10, done, w)
	res, err := loadgen.Run(ctx, loadgen.Options{URL: o.url + "/v1/models/" + model + ":predict", Rate: o.rate,
		Duration: o.duration, Concurrency: 64, Body: func(i int) []byte { return bodies[i%len(bodies)] }})
	close(done)
	fmt.Fprintf(w, "soak: %.0f req/s for %s: sent %d, ok %d, errors %d, dropped %d; achieved %.1f req/s; latency p50 %s p99 %s max %s\n",
		o.rate, o.duration, res.Sent, res.OK, res.Errors, res.Dropped, res.Rate, res.P50, res.P99, res.Max)
	if err != nil {
		return err
	}
	win, err := gateway.NewMetricsSourceFor(ep).Observe(ctx, model)
	if err != nil {
		return err
	}
	n := win.Stable.Requests + win.Canary.Requests
	fmt.Fprintf(w, "soak: gateway counted %d requests: stable %d (errors %d), canary %d (errors %d): canary share %.2f%%",
		n, win.Stable.Requests, win.Stable.Errors, win.Canary.Requests, win.Canary.Errors, 100*float64(win.Canary.Requests)/float64(max(n, 1)))
	if st, err := gateway.NewDeployerFor(ep).Status(ctx, model); err == nil && st.Mirror != nil {
		fmt.Fprintf(w, "; mirrored pairs %d, mirrors dropped %d, failed %d", st.Mirror.Pairs, st.Mirror.Dropped, st.Mirror.Failed)
	}
	fmt.Fprintln(w)
	return nil
}

// sampleRSS prints pid's resident memory every interval until done.
func sampleRSS(pid int, interval time.Duration, done <-chan struct{}, w io.Writer) {
	if pid == 0 {
		return
	}
	start := time.Now()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		fmt.Fprintf(w, "rss at %s: %s\n", time.Since(start).Round(time.Second), rss(pid))
		select {
		case <-done:
			return
		case <-t.C:
		}
	}
}

// rss reads VmRSS and VmHWM of pid from /proc.
func rss(pid int) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return err.Error()
	}
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmRSS:") || strings.HasPrefix(line, "VmHWM:") {
			out = append(out, strings.Join(strings.Fields(line), " "))
		}
	}
	return strings.Join(out, ", ")
}
