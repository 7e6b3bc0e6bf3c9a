package gateway

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// connPool posts to one upstream over HTTP/1.1 connections it keeps alive,
// on the calling goroutine. net/http's Transport hands every request to a
// write goroutine and every answer back from a read goroutine of the
// connection; for a proxy whose upstream answers in tens of microseconds
// those handoffs cost as much as the request, so the pool writes the
// request and reads the answer itself. Framing stays the standard
// library's: http.ReadResponse parses the answer (Content-Length, chunked,
// close-delimited) unless quickAnswer finds the plain kind whole in the
// buffer; the request it writes is one fixed form, in one
// write. Its sockets are read and written with raw system calls
// (rawConn), sparing the scheduler's syscall bookkeeping, and a request
// on a connection used moments ago is sent from within the read that
// waits for its answer (sendOnRead).
type connPool struct {
	addr    string // host:port
	host    string // the Host header
	maxIdle int
	dialer  net.Dialer

	mu   sync.Mutex
	idle []*upstreamConn
}

type upstreamConn struct {
	c    net.Conn
	br   *bufio.Reader
	buf  []byte    // the request being written
	used bool      // it carried a request before
	last time.Time // the deadline of the request it carried last
}

// readSender is a connection that can send a request from within the read
// of its answer (rawConn, on Linux).
type readSender interface{ sendOnRead(req []byte) }

// sendOnReadIdle is how long a connection may have been idle and still
// send its next request from within the read. The read would miss a
// half-close that came while idle (a full close it notices: the request
// draws a reset), which HTTP servers make only after idle timeouts of
// seconds; a connection idle longer is written and read the plain way.
// The idle time is told without reading the clock: requests' deadlines
// are their start plus the same timeout, so two deadlines 100 ms apart
// mean the last request started at least that long ago.
const sendOnReadIdle = 100 * time.Millisecond

func newConnPool(addr, host string) *connPool {
	return &connPool{addr: addr, host: host, maxIdle: idleUpstreamConns,
		dialer: net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}}
}

// post sends body to path and returns the answer's status and body. A
// request that fails on a reused connection before any answer arrived (the
// upstream closed it while idle) is sent once more on a new connection:
// predictions have no side effects.
func (p *connPool) post(ctx context.Context, path string, body []byte) (int, []byte, error) {
	status, b, retry, err := p.try(ctx, path, body, true)
	if retry {
		status, b, _, err = p.try(ctx, path, body, false)
	}
	return status, b, err
}

// try sends the request once, on an idle connection when reuse allows;
// retry says whether it failed as a stale connection does.
func (p *connPool) try(ctx context.Context, path string, body []byte, reuse bool) (status int, b []byte, retry bool, err error) {
	c, err := p.get(ctx, reuse)
	if err != nil {
		return 0, nil, false, err
	}
	status, b, keep, answered, err := c.roundTrip(ctx, p.host, path, body)
	if err == nil {
		p.put(c, keep)
		return status, b, false, nil
	}
	c.c.Close()
	return 0, nil, !answered && c.used && ctx.Err() == nil, err
}

// get returns an idle connection (when reuse allows) or dials a new one.
func (p *connPool) get(ctx context.Context, reuse bool) (*upstreamConn, error) {
	p.mu.Lock()
	if n := len(p.idle); n > 0 && reuse {
		c := p.idle[n-1]
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		return c, nil
	}
	p.mu.Unlock()
	nc, err := p.dialer.DialContext(ctx, "tcp", p.addr)
	if err != nil {
		return nil, err
	}
	nc = newRawConn(nc)
	return &upstreamConn{c: nc, br: bufio.NewReaderSize(nc, 4096)}, nil
}

func (p *connPool) put(c *upstreamConn, keep bool) {
	c.used = true
	p.mu.Lock()
	if keep && len(p.idle) < p.maxIdle {
		p.idle = append(p.idle, c)
		p.mu.Unlock()
		return
	}
	p.mu.Unlock()
	c.c.Close()
}

// close closes the idle connections.
func (p *connPool) close() {
	p.mu.Lock()
	idle := p.idle
	p.idle = nil
	p.mu.Unlock()
	for _, c := range idle {
		c.c.Close()
	}
}

// roundTrip writes one request and reads its answer whole. answered says
// whether any of the answer arrived; keep whether the connection can carry
// another request. ctx's end interrupts the connection's I/O.
func (c *upstreamConn) roundTrip(ctx context.Context, host, path string, body []byte) (status int, b []byte, keep, answered bool, err error) {
	// ctx's deadline bounds the I/O directly (a deadlineContext has no
	// timer; rawConn sets a later deadline lazily) and its cancellation
	// interrupts it, so the caller can tell a timeout or a client gone (by
	// ctx.Err()) from a failing upstream.
	dl, _ := ctx.Deadline()
	_ = c.c.SetDeadline(dl)
	recent := !dl.IsZero() && !c.last.IsZero() && dl.Sub(c.last) < sendOnReadIdle
	c.last = dl
	if g := ioGuardOf(ctx); g != nil && g.guard(c.c) {
		defer func() {
			if g.release() {
				keep = false // ctx ended meanwhile: the connection's deadline has passed
			}
		}()
	} else {
		stop := context.AfterFunc(ctx, func() { _ = c.c.SetDeadline(time.Unix(1, 0)) })
		defer func() {
			if !stop() {
				keep = false
			}
		}()
	}
	c.buf = append(c.buf[:0], "POST "...)
	c.buf = append(c.buf, path...)
	c.buf = append(c.buf, " HTTP/1.1\r\nHost: "...)
	c.buf = append(c.buf, host...)
	// No User-Agent: a header the upstream parses on every request and
	// nobody reads (nginx adds none of its own either).
	c.buf = append(c.buf, "\r\nContent-Type: application/json\r\nContent-Length: "...)
	c.buf = strconv.AppendInt(c.buf, int64(len(body)), 10)
	c.buf = append(c.buf, "\r\n\r\n"...)
	c.buf = append(c.buf, body...)
	if rs, ok := c.c.(readSender); ok && recent && c.br.Buffered() == 0 {
		rs.sendOnRead(c.buf) // sent by the Peek below
	} else if _, err := c.c.Write(c.buf); err != nil {
		return 0, nil, false, false, ctxOr(ctx, err)
	}
	_, err = c.br.Peek(1)
	if len(c.buf) > 64<<10 {
		c.buf = nil // do not keep a large body's buffer with the idle connection
	}
	if err != nil {
		return 0, nil, false, false, ctxOr(ctx, err)
	}
	if status, b, ok := quickAnswer(c.br); ok {
		return status, b, c.br.Buffered() == 0, true, nil
	}
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		return 0, nil, false, true, ctxOr(ctx, err)
	}
	defer resp.Body.Close()
	b, err = readAnswer(resp)
	if err != nil {
		return 0, nil, false, true, ctxOr(ctx, err)
	}
	return resp.StatusCode, b, !resp.Close && c.br.Buffered() == 0, true, nil
}

// ctxOr prefers ctx's error to the I/O error it caused.
func ctxOr(ctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		return fmt.Errorf("%w (%v)", cerr, err)
	}
	return err
}
