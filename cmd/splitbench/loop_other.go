//go:build !linux

package main

import (
	"context"
	"errors"
	"io"
)

// loopSupported says whether `splitbench loop` runs here.
const loopSupported = false

func runLoop(context.Context, proxyOptions, io.Writer) error {
	return errors.New("splitbench loop: the reference forwarder uses epoll and runs on Linux only")
}
