//go:build !linux

package gateway

import (
	"context"
	"errors"
	"net"
	"time"
)

// busyPoller is Linux-only (busypoll_linux.go): it watches the runtime's
// epoll instance.
type busyPoller struct{}

func newBusyPoller(context.Context, time.Duration, net.Listener) (*busyPoller, error) {
	return nil, errors.New("busy poll: needs Linux (it watches the runtime's epoll instance)")
}

func (*busyPoller) kick() {}
func (*busyPoller) wait() {}
