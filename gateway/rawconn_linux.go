//go:build linux

package gateway

import (
	"errors"
	"io"
	"net"
	"sync"
	"syscall"
	"time"
)

// rawConn reads and writes a TCP connection with raw system calls on its
// non-blocking socket, still waiting for readiness (and so honouring
// deadlines) through the runtime's poller. The standard library's Read
// and Write enter the scheduler's syscall state, which for a proxy on one
// core costs as much as the proxying: once the process was idle (between
// requests, and while the upstream works) the first such call wakes
// sysmon, whose wake-ups then share the core with the request, and a
// loopback write that outlasts sysmon's 20 µs tick has its P handed to
// another thread. The calls made here do not block (the socket is
// non-blocking; send uses MSG_NOSIGNAL), the condition for raw calls.
// Under the race detector the calls are the syscall package's
// (rawsys_race.go), whose annotations tell it that what one goroutine
// wrote to a socket happened before another read it.
// Hand-written because neither the standard library nor x/sys offers it.
type rawConn struct {
	net.Conn
	rc              syscall.RawConn
	read, write     rawOp
	readDL, writeDL lazyDeadline
}

// rawOp is one direction's call in progress, its callback bound once so a
// call allocates nothing. mu serializes calls in one direction, as
// net.Conn allows concurrent ones.
type rawOp struct {
	mu    sync.Mutex
	buf   []byte
	n     int
	errno syscall.Errno
	fn    func(fd uintptr) bool
	send  []byte // reads only: a request to send before waiting (sendOnRead)
}

// newRawConn wraps a TCP connection; any other net.Conn is returned as
// it is.
func newRawConn(c net.Conn) net.Conn {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return c
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return c
	}
	r := &rawConn{Conn: c, rc: rc}
	r.read.fn, r.write.fn = r.read.readOnce, r.write.writeOnce
	r.readDL.set, r.writeDL.set = c.SetReadDeadline, c.SetWriteDeadline
	return r
}

// sendOnRead has the next Read send req first and then wait for the
// answer without trying a read before it waits. A plain Write and Read
// cost one more system call a request: Read tries the socket at once,
// and a request just written has no answer yet. The poller forgets any
// readiness when a read begins, so the send has to happen inside the read
// (after that point): then the answer's arrival is what wakes it. Only
// for a peer that sends nothing unasked, as an HTTP server does between
// requests; data or a half-close that came before the read began would
// not wake it (a full close does: the request draws a reset).
func (c *rawConn) sendOnRead(req []byte) { c.read.send = req }

// Read reads what the socket holds, waiting for some when it holds none.
func (c *rawConn) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	n, err := c.call(&c.read, &c.readDL, p, "read")
	if rest := c.read.send; rest != nil && err == nil {
		// the socket's buffer filled before all of the request was sent:
		// the rest goes the usual way, then the usual read
		c.read.send = nil
		if _, err = c.Write(rest); err == nil {
			n, err = c.call(&c.read, &c.readDL, p, "read")
		}
	}
	c.read.send = nil
	if err == nil && n == 0 {
		return 0, io.EOF
	}
	if err != nil {
		n = 0
	}
	return n, err
}

// Write writes all of p, waiting for room when the socket's buffer is full.
func (c *rawConn) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	return c.call(&c.write, &c.writeDL, p, "write")
}

// SetReadDeadline, SetWriteDeadline and SetDeadline set deadlines lazily
// (rawdeadline_linux.go).
func (c *rawConn) SetReadDeadline(t time.Time) error  { return c.readDL.request(t) }
func (c *rawConn) SetWriteDeadline(t time.Time) error { return c.writeDL.request(t) }
func (c *rawConn) SetDeadline(t time.Time) error {
	return errors.Join(c.readDL.request(t), c.writeDL.request(t))
}

// call runs op over p through the poller (RawConn's Read or Write, as
// name says) and returns what it moved and its failure as a net error.
// A write that the socket's early deadline stopped goes on where it
// stopped.
func (c *rawConn) call(op *rawOp, dl *lazyDeadline, p []byte, name string) (int, error) {
	op.mu.Lock()
	defer op.mu.Unlock()
	op.buf, op.n, op.errno = p, 0, 0
	var err error
	for {
		if name == "read" {
			err = c.rc.Read(op.fn)
		} else {
			err = c.rc.Write(op.fn)
		}
		if err == nil || !dl.retry(err) {
			break
		}
	}
	op.buf = nil
	switch {
	case err != nil:
		return op.n, c.opError(name, err)
	case op.errno != 0:
		return op.n, c.opError(name, op.errno)
	}
	return op.n, nil
}

// opError wraps err as net's own connections do, so callers (net/http
// among them) see a net.Error telling timeouts and closed connections.
func (c *rawConn) opError(op string, err error) error {
	return &net.OpError{Op: op, Net: "tcp", Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: err}
}

// CloseWrite shuts the sending side down, as net/http does before closing
// a connection it answered with an error.
func (c *rawConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// readOnce is one read; false asks the poller to wait for data. A
// request to send first is sent, and then the poller waits.
func (op *rawOp) readOnce(fd uintptr) bool {
	if op.send != nil {
		return op.sendFirst(fd)
	}
	for {
		r, e := sysRead(fd, op.buf)
		switch e {
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return false
		case 0:
			op.n = int(r)
		default:
			op.errno = e
		}
		return true
	}
}

// sendFirst sends op.send from a read's first call and asks the poller to
// wait for the answer. When the socket takes only part of it, op.send
// keeps the rest and the read ends, having read nothing.
func (op *rawOp) sendFirst(fd uintptr) bool {
	for len(op.send) > 0 {
		r, e := sysSend(fd, op.send)
		switch e {
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return true
		case 0:
			op.send = op.send[r:]
		default:
			op.send, op.errno = nil, e
			return true
		}
	}
	op.send = nil
	return false
}

// writeOnce sends what is left of buf; false asks the poller to wait for
// room.
func (op *rawOp) writeOnce(fd uintptr) bool {
	for op.n < len(op.buf) {
		rest := op.buf[op.n:]
		r, e := sysSend(fd, rest)
		switch e {
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return false
		case 0:
			op.n += int(r)
		default:
			op.errno = e
			return true
		}
	}
	return true
}
