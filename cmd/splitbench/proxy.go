package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"runtime"
	"runtime/pprof"
	"time"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/gateway"
)

// model is the model name every proxy serves.
const model = "demand-forecast"

// tokenEnv carries the gateway's admin token from the bench to its proxy.
const tokenEnv = "SPLITBENCH_ADMIN_TOKEN"

// proxyOptions configure `splitbench proxy`.
type proxyOptions struct {
	listen, admin  string
	stable, canary string
	percent        int
	protocol       string
	cpuProfile     string
	memProfile     string
	spin           time.Duration // `splitbench loop` only: poll without sleeping this long after an event
	busyPoll       time.Duration // the gateway's Options.BusyPoll
}

func parseProxy(args []string) (proxyOptions, error) {
	var o proxyOptions
	fs := flag.NewFlagSet("splitbench proxy", flag.ContinueOnError)
	fs.StringVar(&o.listen, "listen", "127.0.0.1:0", "data plane address")
	fs.StringVar(&o.admin, "admin", "127.0.0.1:0", "admin API address")
	fs.StringVar(&o.stable, "stable", "", "stable revision's upstream URL")
	fs.StringVar(&o.canary, "canary", "", "canary revision's upstream URL")
	fs.IntVar(&o.percent, "percent", 10, "canary percent")
	fs.StringVar(&o.protocol, "protocol", gateway.UpstreamV1, "upstream protocol: v1 or v2")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write the gateway's CPU profile to this file")
	fs.StringVar(&o.memProfile, "memprofile", "", "write the gateway's allocation profile (every 4 KiB allocated) to this file")
	fs.DurationVar(&o.busyPoll, "busy-poll", 0, "the gateway polls the network this long after each event before it sleeps (gateway.Options.BusyPoll); 0 sleeps at once")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if o.stable == "" || o.canary == "" || fs.NArg() > 0 || o.busyPoll < 0 {
		return o, errors.New("usage: splitbench proxy -stable URL -canary URL [-percent 10] [-busy-poll 0] [-listen ADDR] [-admin ADDR]")
	}
	return o, nil
}

// runProxy serves the split until ctx ends. Revisions are deployments
// whose ModelDir is the upstream's URL; their digest is derived from it,
// as there is no model directory to verify.
func runProxy(ctx context.Context, args []string) error {
	o, err := parseProxy(args)
	if err != nil {
		return err
	}
	if o.cpuProfile != "" {
		stop, err := profileCPU(o.cpuProfile)
		if err != nil {
			return err
		}
		defer stop()
	}
	if o.memProfile != "" {
		defer profileAllocs(o.memProfile)()
	}
	gateway.SetGCPercent(os.Getenv("GOGC")) // as modelgate serve
	token := os.Getenv(tokenEnv)
	if token == "" {
		return fmt.Errorf("splitbench proxy: set %s to the admin token", tokenEnv)
	}
	srv := gateway.NewServer(gateway.Options{
		AdminToken: token,
		BusyPoll:   o.busyPoll,
		DirDigest:  func(dir string) (string, error) { return "upstream:" + dir, nil },
		DeploymentLoader: func(d modelgate.Deployment) (gateway.Model, error) {
			return gateway.StartUpstream(ctx, gateway.UpstreamSpec{URL: d.ModelDir, Protocol: o.protocol, Name: model}, d)
		},
	})
	if err := srv.Open(); err != nil {
		return err
	}
	defer srv.Close()
	data, err := net.Listen("tcp", o.listen)
	if err != nil {
		return err
	}
	admin, err := net.Listen("tcp", o.admin)
	if err != nil {
		data.Close()
		return err
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ctx, data, admin) }()
	if err := deploySplit(ctx, o, "http://"+data.Addr().String(), "http://"+admin.Addr().String(), token); err != nil {
		return err
	}
	fmt.Println("ready", data.Addr(), admin.Addr())
	return <-errc
}

// deploySplit serves stable at 100-percent and canary at percent.
func deploySplit(ctx context.Context, o proxyOptions, data, admin, token string) error {
	d := gateway.NewDeployerFor(gateway.Endpoints{URL: data, AdminURL: admin, AdminToken: token})
	dep := func(version, url string) modelgate.Deployment {
		return modelgate.Deployment{Model: model, Version: version, ModelDir: url, Digest: "upstream:" + url}
	}
	if err := d.SetStable(ctx, dep("stable", o.stable)); err != nil {
		return fmt.Errorf("set stable: %w", err)
	}
	if err := d.StartCanary(ctx, dep("canary", o.canary), o.percent); err != nil {
		return fmt.Errorf("start canary: %w", err)
	}
	return nil
}

// profileCPU profiles the process into path until stop is called.
func profileCPU(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

// profileAllocs samples allocations from now on and returns the function
// that writes them to path. A rate of 4 KiB catches a request's small
// allocations often enough to count them per request.
func profileAllocs(path string) (write func()) {
	runtime.MemProfileRate = 4096
	return func() {
		f, err := os.Create(path)
		if err != nil {
			fmt.Fprintln(os.Stderr, "splitbench proxy:", err)
			return
		}
		defer f.Close()
		if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
			fmt.Fprintln(os.Stderr, "splitbench proxy:", err)
		}
	}
}
