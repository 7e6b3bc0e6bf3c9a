//go:build !linux

package loadgen

import (
	"context"
	"errors"
)

// run needs Linux's epoll and timerfd; see paced_linux.go.
func (o *Paced) Run(context.Context) (PacedResult, error) {
	return PacedResult{}, errors.New("the open-loop load needs Linux")
}
