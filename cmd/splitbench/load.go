package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/modelgate/modelgate/gateway/loadgen"
)

// runLoad is `splitbench load`: one open-loop run at a fixed rate against a
// loopback URL, its result printed as one JSON line. The bench runs it
// pinned to core 1, where wrk runs.
func runLoad(ctx context.Context, args []string, w io.Writer) error {
	fs := flag.NewFlagSet("splitbench load", flag.ContinueOnError)
	target := fs.String("url", "", "http://127.0.0.1:PORT/PATH to post to (loopback only)")
	example := fs.String("example", "examples/demand-forecast", "example directory with data/live_requests.csv")
	var o loadgen.Paced
	fs.Float64Var(&o.Rate, "rate", 1000, "requests per second")
	fs.IntVar(&o.Conns, "conns", 64, "connections opened up front")
	fs.DurationVar(&o.Warmup, "warmup", time.Second, "unmeasured time at the same rate first")
	fs.DurationVar(&o.Duration, "duration", 5*time.Second, "measured time")
	if err := fs.Parse(args); err != nil {
		return err
	}
	instances, err := loadgen.ReadInstances(filepath.Join(*example, "data", "live_requests.csv"))
	if err != nil {
		return err
	}
	p, err := loadgen.PacedPosts(*target, loadgen.V1Bodies(instances))
	if err != nil {
		return fmt.Errorf("-url: %w", err)
	}
	p.Rate, p.Conns, p.Warmup, p.Duration = o.Rate, o.Conns, o.Warmup, o.Duration
	res, err := p.Run(ctx)
	if err != nil {
		return err
	}
	b, err := json.Marshal(res)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(w, string(b))
	return err
}
