//go:build linux

package gateway

import (
	"errors"
	"os"
	"sync"
	"time"
)

// lazyDeadline is one direction's deadline of a rawConn, moved on the
// socket only when it has to be. net/http moves a connection's read and
// write deadlines three or four times per request (idle, header, whole
// request, write), each a timer change in the runtime's poller, and
// almost every move is to a later time. A later deadline is only
// recorded; when the socket's earlier one passes, the call it failed asks
// retry, which moves the socket's deadline to the recorded one and has
// the call tried again unless that has passed too. An earlier deadline
// (net/http's "stop reading now" among them) is set at once, so a
// deadline never fires later than asked; it may cost one extra wake-up
// per connection and header timeout.
type lazyDeadline struct {
	mu   sync.Mutex
	want time.Time // asked for; zero: none
	have time.Time // on the socket; zero: none
	set  func(time.Time) error
}

// request records t and sets it on the socket when it is earlier than the
// socket's.
func (d *lazyDeadline) request(t time.Time) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.want = t
	if t.IsZero() || (!d.have.IsZero() && !t.Before(d.have) && !stopped(d.have)) {
		return nil
	}
	if err := d.set(t); err != nil {
		return err
	}
	d.have = t
	return nil
}

// retry says whether a call that failed with err should be tried again:
// it failed on the socket's deadline while the one asked for has not
// passed, and the socket now has that one.
func (d *lazyDeadline) retry(err error) bool {
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		return false
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.want.IsZero() && !time.Now().Before(d.want) {
		return false
	}
	if d.set(d.want) != nil {
		return false
	}
	d.have = d.want
	return true
}

// stopped reports whether t is a deadline set to stop a call at once:
// net/http stops a connection's background read with one in 1970 after
// every request. The socket's deadline is then replaced at once by the
// next one asked for, rather than failing the next read first.
func stopped(t time.Time) bool {
	return t.Unix() < 946684800 // 2000-01-01
}
