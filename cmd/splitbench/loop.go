package main

import (
	"context"
	"errors"
	"flag"
	"os"
)

// runLoopCmd is `splitbench loop`: the reference forwarder (loop_linux.go)
// serving the split until ctx ends.
func runLoopCmd(ctx context.Context, args []string) error {
	var o proxyOptions
	fs := flag.NewFlagSet("splitbench loop", flag.ContinueOnError)
	fs.StringVar(&o.listen, "listen", "127.0.0.1:0", "address to serve on (loopback)")
	fs.StringVar(&o.stable, "stable", "", "stable upstream's URL, http://127.0.0.1:PORT")
	fs.StringVar(&o.canary, "canary", "", "canary upstream's URL, http://127.0.0.1:PORT")
	fs.IntVar(&o.percent, "percent", 10, "canary percent")
	fs.DurationVar(&o.spin, "spin", 0, "after each event, poll without sleeping this long (such as 200us) before waiting in epoll; 0 sleeps at once")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if o.stable == "" || o.canary == "" || fs.NArg() > 0 || o.percent < 0 || o.percent > 100 || o.spin < 0 {
		return errors.New("usage: splitbench loop -stable URL -canary URL [-percent 10] [-spin 0] [-listen 127.0.0.1:PORT]")
	}
	return runLoop(ctx, o, os.Stdout)
}
