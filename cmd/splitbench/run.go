package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/modelgate/modelgate/gateway"
	"github.com/modelgate/modelgate/gateway/loadgen"
)

// probeBody is a valid one-instance V1 body for readiness checks.
const probeBody = `{"instances":[{"store_id":1,"date":"2025-01-01","promo":0}]}`

// target is a proxy started for one run (nil proc for "direct").
type target struct {
	proc    *proc
	url     string // base URL wrk posts to
	metrics *gateway.MetricsSource
}

// run starts proxy name, warms it up and measures one wrk run.
func (b *bench) run(ctx context.Context, name string) (row, error) {
	t, err := b.start(ctx, name)
	if err != nil {
		return row{}, err
	}
	if t.proc != nil {
		defer t.proc.stop()
	}
	url := t.url + "/v1/models/" + model + ":predict"
	if b.o.warmup > 0 {
		if _, err := runWrk(ctx, 1, b.o.conns, b.o.warmup, b.script, url); err != nil {
			return row{}, err
		}
	}
	before, err := b.sample(ctx, t)
	if err != nil {
		return row{}, err
	}
	res, err := runWrk(ctx, 1, b.o.conns, b.o.duration, b.script, url)
	if err != nil {
		return row{}, err
	}
	after, err := b.sample(ctx, t)
	if err != nil {
		return row{}, err
	}
	r := measured(name, res, before, after)
	if err := b.unloaded(ctx, url, &r); err != nil {
		return r, err
	}
	return r, b.fixedRates(ctx, t, url, &r)
}

// fixedRates measures latency and CPU at the rates b.rates, open loop:
// below saturation, where a proxy's latency is its own delay plus the
// queueing its load causes, not its throughput.
func (b *bench) fixedRates(ctx context.Context, t target, url string, r *row) error {
	if name := r.Proxy; name == "direct" && b.rates == nil && len(b.o.fractions) > 0 {
		for _, f := range b.o.fractions { // from the first direct run's req/s, then kept
			b.rates = append(b.rates, math.Round(f*r.RPS/100)*100)
		}
	}
	for _, rate := range b.rates {
		before, err := b.sample(ctx, t)
		if err != nil {
			return err
		}
		res, err := runLoadPinned(ctx, b.o.bin, b.o.example, url, rate, max(time.Second, b.o.duration/2))
		if err != nil {
			return fmt.Errorf("%.0f req/s: %w", rate, err)
		}
		after, err := b.sample(ctx, t)
		if err != nil {
			return err
		}
		r.Rates = append(r.Rates, atRate(res, before, after))
	}
	return nil
}

// atRate turns an open-loop run and the samples around it into a figure.
func atRate(res loadgen.PacedResult, before, after sample) rateRow {
	perReq := func(ticks int64) float64 {
		if res.AllAnswered == 0 {
			return 0
		}
		return float64(ticks) * (1e6 / clockTicks) / float64(res.AllAnswered)
	}
	rr := rateRow{Rate: res.Rate, P50US: res.P50US, P99US: res.P99US, Errors: res.Status + res.Errors + res.Lost,
		ProxyCPUUS: perReq(after.proxyTicks - before.proxyTicks), UpstreamCPUUS: perReq(after.upTicks - before.upTicks), ProxyErrors: -1}
	if after.gwRequests >= 0 {
		rr.ProxyErrors = after.gwErrs - before.gwErrs
	}
	return rr
}

// unloaded measures latency with one connection, where it is the proxy's
// own delay rather than its throughput: with 32 connections back to back,
// p50 is about 32 / (req/s).
func (b *bench) unloaded(ctx context.Context, url string, r *row) error {
	if !b.o.unloaded {
		return nil
	}
	res, err := runWrk(ctx, 1, 1, max(time.Second, b.o.duration/2), b.script, url)
	if err != nil {
		return err
	}
	r.P50C1US, r.P99C1US = res.P50US, res.P99US
	return nil
}

// sample is the processes' CPU, the proxy's sleeps, the cores' wake-up
// interrupts and the gateway's own counts at one moment.
type sample struct {
	proxyTicks, upTicks int64
	proxySleeps         int64
	ipis                [2]int64 // to cores 0 and 1
	ipisOK              bool
	gwRequests, gwErrs  int64 // -1 without a gateway
}

func (b *bench) sample(ctx context.Context, t target) (sample, error) {
	s := sample{gwRequests: -1, gwErrs: -1}
	var err error
	if s.upTicks, err = cpuTicks(b.upstream.cmd.Process.Pid); err != nil {
		return s, err
	}
	if t.proc != nil {
		if s.proxyTicks, err = cpuTicks(t.proc.cmd.Process.Pid); err != nil {
			return s, err
		}
		if s.proxySleeps, err = sleeps(t.proc.cmd.Process.Pid); err != nil {
			return s, err
		}
	}
	s.ipis, s.ipisOK = coreIPIs()
	if t.metrics != nil {
		w, err := t.metrics.Observe(ctx, model)
		if err != nil {
			return s, fmt.Errorf("gateway figures: %w", err)
		}
		s.gwRequests = w.Stable.Requests + w.Canary.Requests
		s.gwErrs = w.Stable.Errors + w.Canary.Errors
	}
	return s, nil
}

// measured turns a wrk run and the samples around it into a row.
func measured(name string, res wrkResult, before, after sample) row {
	perReq := func(ticks int64) float64 {
		if res.Requests == 0 {
			return 0
		}
		return float64(ticks) * (1e6 / clockTicks) / float64(res.Requests)
	}
	perReqN := func(n int64) float64 {
		if res.Requests == 0 {
			return 0
		}
		return float64(n) / float64(res.Requests)
	}
	r := row{Proxy: name, RPS: res.rate(), P50US: res.P50US, P99US: res.P99US, Requests: res.Requests,
		ProxyCPUUS: perReq(after.proxyTicks - before.proxyTicks), UpstreamCPUUS: perReq(after.upTicks - before.upTicks),
		ProxySleeps: perReqN(after.proxySleeps - before.proxySleeps), IPIs: [2]float64{-1, -1},
		WrkErrors: res.errors(), ProxyErrors: -1, ProxyRequests: -1}
	if before.ipisOK && after.ipisOK {
		r.IPIs = [2]float64{perReqN(after.ipis[0] - before.ipis[0]), perReqN(after.ipis[1] - before.ipis[1])}
	}
	if after.gwRequests >= 0 {
		r.ProxyErrors, r.ProxyRequests = after.gwErrs-before.gwErrs, after.gwRequests-before.gwRequests
	}
	return r
}

// start starts proxy name on core 0 and waits until it answers a
// prediction. A port freePort found free can be taken (as the ephemeral
// port of some loopback connection) before the proxy binds it; then it
// tries other ports, three times in all.
func (b *bench) start(ctx context.Context, name string) (target, error) {
	return retryPortClash(3, func() (target, error) { return b.startOnce(ctx, name) })
}

// retryPortClash calls start until it succeeds, fails otherwise than on a
// port in use, or has been called attempts times.
func retryPortClash(attempts int, start func() (target, error)) (target, error) {
	var err error
	for range attempts {
		var t target
		if t, err = start(); err == nil || !strings.Contains(err.Error(), "address already in use") {
			return t, err
		}
	}
	return target{}, err
}

func (b *bench) startOnce(ctx context.Context, name string) (target, error) {
	if name == "direct" {
		return target{url: b.upURL}, nil
	}
	port, err := freePort()
	if err != nil {
		return target{}, err
	}
	t := target{url: fmt.Sprintf("http://127.0.0.1:%d", port)}
	switch name {
	case "nginx":
		t.proc, err = b.startNginx(port)
	case "modelgate":
		t, err = b.startGateway(ctx, t, 0)
	case "modelgate-bp":
		t, err = b.startGateway(ctx, t, b.o.busyPoll)
	case "goloop":
		t.proc, err = startPinned("goloop", 0, b.dir, nil, filepath.Join(b.o.bin, "splitbench"), "loop", "-listen", trimScheme(t.url),
			"-stable", b.upURL, "-canary", b.upURL, "-percent", fmt.Sprint(b.o.percent), "-spin", b.o.loopSpin.String())
	default:
		err = fmt.Errorf("unknown proxy %q", name)
	}
	if err == nil {
		err = waitPredict(ctx, t.url, 20*time.Second)
	}
	if err != nil && t.proc != nil {
		err = fmt.Errorf("%w; its output: %s", err, t.proc.logTail())
		t.proc.stop()
	}
	return t, err
}

func (b *bench) startNginx(port int) (*proc, error) {
	prefix := filepath.Join(b.dir, "nginx")
	if err := os.MkdirAll(prefix, 0o700); err != nil {
		return nil, err
	}
	up := trimScheme(b.upURL)
	conf := filepath.Join(prefix, "nginx.conf")
	if err := os.WriteFile(conf, []byte(nginxConf(port, up, up, b.o.percent)), 0o600); err != nil {
		return nil, err
	}
	return startPinned("nginx", 0, b.dir, nil, "nginx", "-c", conf, "-p", prefix, "-g", "daemon off;")
}

func (b *bench) startGateway(ctx context.Context, t target, busyPoll time.Duration) (target, error) {
	admin, err := freePort()
	if err != nil {
		return t, err
	}
	token := randomToken()
	adminURL := fmt.Sprintf("http://127.0.0.1:%d", admin)
	args := []string{filepath.Join(b.o.bin, "splitbench"), "proxy", "-listen", trimScheme(t.url), "-admin", trimScheme(adminURL),
		"-stable", b.upURL, "-canary", b.upURL, "-percent", fmt.Sprint(b.o.percent), "-busy-poll", busyPoll.String()}
	if b.o.profile != "" {
		args = append(args, "-cpuprofile", b.o.profile)
	}
	t.proc, err = startPinned("modelgate", 0, b.dir, []string{tokenEnv + "=" + token}, args...)
	if err != nil {
		return t, err
	}
	t.metrics = gateway.NewMetricsSourceFor(gateway.Endpoints{URL: t.url, AdminURL: adminURL, AdminToken: token})
	return t, waitLine(ctx, t.proc, "ready", 20*time.Second)
}

// waitPredict posts probeBody to base until it answers 200.
func waitPredict(ctx context.Context, base string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	url := base + "/v1/models/" + model + ":predict"
	last := "no answer"
	for time.Now().Before(deadline) && ctx.Err() == nil {
		resp, err := http.Post(url, "application/json", bytes.NewReader([]byte(probeBody)))
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = fmt.Sprintf("%d %s", resp.StatusCode, body)
		} else {
			last = err.Error()
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("%s did not answer a prediction within %s: %s", url, timeout, last)
}
