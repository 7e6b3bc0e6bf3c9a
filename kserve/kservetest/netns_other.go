//go:build !linux

package kservetest

import (
	"fmt"
	"net"
	"os/exec"
)

// netns needs Linux's network namespaces.
type netns struct{}

// startInNetns fails: Knative's controller and autoscaler both bind :8080,
// so they can run side by side only in network namespaces of their own.
func startInNetns(*exec.Cmd, []int, []net.Listener, <-chan struct{}) (*netns, error) {
	return nil, fmt.Errorf("%w: running Knative's components needs Linux network namespaces", ErrNotInstalled)
}

func (*netns) close() error { return nil }
