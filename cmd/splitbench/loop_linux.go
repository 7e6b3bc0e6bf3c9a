package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"net/url"
	"runtime"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// loopSupported says whether `splitbench loop` runs here.
const loopSupported = true

// loopMaxMessage bounds a request or an answer the loop holds; a larger
// one closes its connection.
const loopMaxMessage = 1 << 20

// loopConn is one socket of the loop: a client's, or a kept-alive one to
// an upstream.
type loopConn struct {
	fd       int
	client   bool
	upstream int       // an upstream connection's upstream: 0 stable, 1 canary
	buf      []byte    // read and not yet forwarded
	peer     *loopConn // the other end of the exchange in flight, if any
}

// loop is the reference forwarder's state; one goroutine on a locked
// thread owns it.
type loop struct {
	ep      int
	ln      int
	conns   map[int]*loopConn
	idle    [2][]*loopConn // kept-alive upstream connections, last used last
	ups     [2]unix.SockaddrInet4
	percent uint64
	n       uint64 // requests forwarded
	rbuf    []byte
	spin    time.Duration
}

// runLoop serves the split on one thread with one epoll set until ctx
// ends: the least a Go program can do to proxy, for the bench's "goloop"
// row (see doc.go).
func runLoop(ctx context.Context, o proxyOptions, w io.Writer) error {
	runtime.LockOSThread()
	l := &loop{conns: map[int]*loopConn{}, percent: uint64(o.percent), rbuf: make([]byte, 64<<10), spin: o.spin}
	for i, u := range []string{o.stable, o.canary} {
		sa, err := loopbackSockaddr(u)
		if err != nil {
			return fmt.Errorf("upstream %q: %w", u, err)
		}
		l.ups[i] = sa
	}
	listen, err := loopbackSockaddr("http://" + o.listen)
	if err != nil {
		return fmt.Errorf("-listen %q: %w", o.listen, err)
	}
	if err := l.open(listen); err != nil {
		return err
	}
	defer l.close()
	sa, err := unix.Getsockname(l.ln)
	if err != nil {
		return err
	}
	in4 := sa.(*unix.SockaddrInet4)
	fmt.Fprintf(w, "ready 127.0.0.1:%d\n", in4.Port)
	return l.serve(ctx)
}

// loopbackSockaddr is an http://127.x.x.x:PORT URL's socket address.
func loopbackSockaddr(raw string) (unix.SockaddrInet4, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return unix.SockaddrInet4{}, err
	}
	ap, err := netip.ParseAddrPort(u.Host)
	if err != nil || !ap.Addr().Is4() || !ap.Addr().IsLoopback() {
		return unix.SockaddrInet4{}, errors.New("want a loopback IPv4 address and port, such as 127.0.0.1:8080")
	}
	return unix.SockaddrInet4{Addr: ap.Addr().As4(), Port: int(ap.Port())}, nil
}

func (l *loop) open(at unix.SockaddrInet4) error {
	var err error
	if l.ln, err = unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0); err != nil {
		return err
	}
	_ = unix.SetsockoptInt(l.ln, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1)
	if err := unix.Bind(l.ln, &at); err != nil {
		unix.Close(l.ln)
		return fmt.Errorf("bind: %w", err)
	}
	if err := unix.Listen(l.ln, 1024); err != nil {
		unix.Close(l.ln)
		return err
	}
	if l.ep, err = unix.EpollCreate1(unix.EPOLL_CLOEXEC); err != nil {
		unix.Close(l.ln)
		return err
	}
	return l.watch(l.ln)
}

func (l *loop) close() {
	for _, c := range l.conns {
		unix.Close(c.fd)
	}
	unix.Close(l.ep)
	unix.Close(l.ln)
}

func (l *loop) watch(fd int) error {
	return unix.EpollCtl(l.ep, unix.EPOLL_CTL_ADD, fd, &unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP, Fd: int32(fd)})
}

// serve waits for events in turns of at most 100 ms, so that ctx is seen.
// With l.spin it polls without sleeping until l.spin has passed since the
// last event: a thread that is awake needs no interrupt from another core
// to take the next packet (the bench's sleeps/req and IPI columns).
func (l *loop) serve(ctx context.Context) error {
	events := make([]unix.EpollEvent, 256)
	var last time.Time // of the last event, with l.spin
	for ctx.Err() == nil {
		timeout := 100
		if l.spin > 0 && time.Since(last) < l.spin {
			timeout = 0
		}
		n, err := unix.EpollWait(l.ep, events, timeout)
		if n > 0 && l.spin > 0 {
			last = time.Now()
		}
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return fmt.Errorf("epoll_wait: %w", err)
		}
		for _, e := range events[:n] {
			if fd := int(e.Fd); fd == l.ln {
				l.accept()
			} else if c := l.conns[fd]; c != nil {
				l.readable(c)
			}
		}
	}
	return ctx.Err()
}

func (l *loop) accept() {
	for {
		fd, _, err := unix.Accept4(l.ln, unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC)
		if err != nil {
			return // EAGAIN, or a connection gone before it was taken
		}
		_ = unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
		if l.watch(fd) != nil {
			unix.Close(fd)
			continue
		}
		l.conns[fd] = &loopConn{fd: fd, client: true}
	}
}

// readable reads what c has and forwards every whole message.
func (l *loop) readable(c *loopConn) {
	n, err := unix.Read(c.fd, l.rbuf)
	if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) {
		return
	}
	if n <= 0 || len(c.buf)+n > loopMaxMessage {
		l.drop(c)
		return
	}
	c.buf = append(c.buf, l.rbuf[:n]...)
	if c.client {
		l.forwardRequest(c)
	} else {
		l.forwardAnswer(c)
	}
}

// forwardRequest sends c's next whole request, if any, to an upstream
// chosen by the split; one request per client is in flight at a time.
func (l *loop) forwardRequest(c *loopConn) {
	if c.peer != nil {
		return
	}
	n, ok := messageLen(c.buf)
	if !ok {
		l.drop(c)
		return
	}
	if n == 0 {
		return
	}
	which := 0
	if (l.n+1)*l.percent/100 != l.n*l.percent/100 {
		which = 1
	}
	l.n++
	u, err := l.upstreamConn(which)
	if err != nil {
		l.answerError(c)
		return
	}
	u.peer, c.peer = c, u
	if !writeAll(u.fd, c.buf[:n]) {
		l.drop(u)
		return
	}
	c.buf = c.buf[:copy(c.buf, c.buf[n:])]
}

// forwardAnswer sends u's whole answer to its client and keeps u.
func (l *loop) forwardAnswer(u *loopConn) {
	n, ok := messageLen(u.buf)
	if !ok || (n > 0 && u.peer == nil) {
		l.drop(u)
		return
	}
	if n == 0 {
		return
	}
	c := u.peer
	sent := writeAll(c.fd, u.buf[:n])
	u.buf = u.buf[:copy(u.buf, u.buf[n:])]
	u.peer, c.peer = nil, nil
	if len(u.buf) == 0 {
		l.idle[u.upstream] = append(l.idle[u.upstream], u)
	} else {
		l.drop(u) // more than one answer: not an HTTP/1.1 upstream we understand
	}
	if !sent {
		l.drop(c)
		return
	}
	l.forwardRequest(c)
}

// upstreamConn is a kept-alive connection to upstream which, or a new one.
func (l *loop) upstreamConn(which int) (*loopConn, error) {
	if idle := l.idle[which]; len(idle) > 0 {
		u := idle[len(idle)-1]
		l.idle[which] = idle[:len(idle)-1]
		return u, nil
	}
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	// Blocking connect: on loopback it returns at once.
	if err := unix.Connect(fd, &l.ups[which]); err != nil {
		unix.Close(fd)
		return nil, err
	}
	_ = unix.SetNonblock(fd, true)
	_ = unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
	if err := l.watch(fd); err != nil {
		unix.Close(fd)
		return nil, err
	}
	u := &loopConn{fd: fd, upstream: which}
	l.conns[fd] = u
	return u, nil
}

// drop closes c and whatever exchange it was in: a client whose upstream
// went away gets a 502 first.
func (l *loop) drop(c *loopConn) {
	if p := c.peer; p != nil {
		c.peer, p.peer = nil, nil
		if c.client {
			l.drop(p) // its answer has nowhere to go
		} else {
			l.answerError(p)
		}
	}
	if !c.client {
		for i, u := range l.idle[c.upstream] {
			if u == c {
				l.idle[c.upstream] = append(l.idle[c.upstream][:i], l.idle[c.upstream][i+1:]...)
				break
			}
		}
	}
	_ = unix.EpollCtl(l.ep, unix.EPOLL_CTL_DEL, c.fd, nil)
	unix.Close(c.fd)
	delete(l.conns, c.fd)
}

// answerError answers c's request with 502 and closes c.
func (l *loop) answerError(c *loopConn) {
	const answer = "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
	writeAll(c.fd, []byte(answer))
	c.peer = nil
	l.drop(c)
}

// messageLen is the length of the first whole HTTP/1.1 message in b: 0
// while it is incomplete; not ok when it is not framed by Content-Length
// alone (chunked), which the loop does not forward.
func messageLen(b []byte) (n int, ok bool) {
	end := bytes.Index(b, []byte("\r\n\r\n"))
	if end < 0 {
		return 0, len(b) < 64<<10
	}
	length := 0
	for line := range bytes.SplitSeq(b[:end], []byte("\r\n")) {
		name, value, found := bytes.Cut(line, []byte(":"))
		switch {
		case !found:
		case bytes.EqualFold(name, []byte("Content-Length")):
			v, err := strconv.Atoi(string(bytes.TrimSpace(value)))
			if err != nil || v < 0 {
				return 0, false
			}
			length = v
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			return 0, false
		}
	}
	if len(b) < end+4+length {
		return 0, true
	}
	return end + 4 + length, true
}

// writeAll writes b whole to a non-blocking socket, waiting in poll when
// its buffer is full (messages here are small, so that is rare).
func writeAll(fd int, b []byte) bool {
	for len(b) > 0 {
		n, err := unix.Write(fd, b)
		switch {
		case errors.Is(err, unix.EAGAIN):
			_, _ = unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLOUT}}, 1000)
		case errors.Is(err, unix.EINTR):
		case err != nil:
			return false
		default:
			b = b[n:]
		}
	}
	return true
}
