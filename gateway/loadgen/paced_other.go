//go:build !linux

package loadgen

import (
	"context"
	"errors"
)

// PacedSupported says whether Paced runs here: it needs Linux's epoll and
// timerfd; use Run elsewhere.
const PacedSupported = false

// Run needs Linux's epoll and timerfd; see paced_linux.go.
func (o *Paced) Run(context.Context) (PacedResult, error) {
	return PacedResult{}, errors.New("the open-loop load needs Linux")
}
