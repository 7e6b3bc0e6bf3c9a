package loadgen

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// PacedSupported says whether Paced runs here: it needs Linux's epoll and
// timerfd; use Run elsewhere.
const PacedSupported = true

// loopConn is one connection and the request on it.
type loopConn struct {
	fd   int
	due  int64 // nanoseconds since the run's start the request was due; -1 when free
	buf  []byte
	need int // bytes of the whole answer once its head is read, else 0
	// closing: the answer said Connection: close
	closing bool
}

// loopState is the run's bookkeeping.
type loopState struct {
	o        *Paced
	conns    []*loopConn
	byFD     map[int]*loopConn
	free     []*loopConn
	queued   []int64 // due times of requests waiting for a connection
	next     int64   // index of the next request to become due
	total    int64   // requests in the run, warmup included
	firstDue int64   // index of the first measured request
	epfd     int
	tfd      int
	start    time.Time
	startMon int64 // CLOCK_MONOTONIC at start, for the timerfd
	armed    int64 // the timer's deadline, to arm it only when it changes
	lat      []int64
	res      PacedResult
}

// Run performs the whole run on a locked thread; it stops early, with
// what it measured, when ctx ends.
func (o *Paced) Run(ctx context.Context) (PacedResult, error) {
	if o.Rate <= 0 || o.Conns < 1 || o.Duration <= 0 || len(o.Requests) == 0 {
		return PacedResult{}, errors.New("open loop: rate, connections, duration and requests must be positive")
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	s := &loopState{o: o, byFD: map[int]*loopConn{}, epfd: -1, tfd: -1, armed: -1}
	defer s.close()
	if err := s.open(); err != nil {
		return PacedResult{}, err
	}
	return s.loop(ctx)
}

func (s *loopState) open() error {
	var err error
	if s.epfd, err = unix.EpollCreate1(unix.EPOLL_CLOEXEC); err != nil {
		return fmt.Errorf("epoll: %w", err)
	}
	if s.tfd, err = unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC); err != nil {
		return fmt.Errorf("timerfd: %w", err)
	}
	if err := unix.EpollCtl(s.epfd, unix.EPOLL_CTL_ADD, s.tfd, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(s.tfd)}); err != nil {
		return fmt.Errorf("epoll add timerfd: %w", err)
	}
	for range s.o.Conns {
		c, err := s.dial()
		if err != nil {
			return err
		}
		s.conns = append(s.conns, c)
		s.free = append(s.free, c)
	}
	return nil
}

// dial connects one blocking socket (before the run, so its cost is not
// timed), then makes it non-blocking and adds it to the epoll set.
func (s *loopState) dial() (*loopConn, error) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("socket: %w", err)
	}
	sa := &unix.SockaddrInet4{Port: int(s.o.Addr.Port()), Addr: s.o.Addr.Addr().As4()}
	if err := unix.Connect(fd, sa); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("connect %s: %w", s.o.Addr, err)
	}
	if err := unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1); err == nil {
		err = unix.SetNonblock(fd, true)
	}
	if err == nil {
		err = unix.EpollCtl(s.epfd, unix.EPOLL_CTL_ADD, fd, &unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP, Fd: int32(fd)})
	}
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("set up connection: %w", err)
	}
	c := &loopConn{fd: fd, due: -1, buf: make([]byte, 0, 4096)}
	s.byFD[fd] = c
	return c, nil
}

func (s *loopState) close() {
	for _, c := range s.conns {
		unix.Close(c.fd)
	}
	if s.tfd >= 0 {
		unix.Close(s.tfd)
	}
	if s.epfd >= 0 {
		unix.Close(s.epfd)
	}
}

// dueAt is when request i is due, in nanoseconds since the start.
func (s *loopState) dueAt(i int64) int64 { return int64(float64(i) * 1e9 / s.o.Rate) }

func (s *loopState) loop(ctx context.Context) (PacedResult, error) {
	s.total = int64(s.o.Rate * (s.o.Warmup + s.o.Duration).Seconds())
	s.firstDue = int64(s.o.Rate * s.o.Warmup.Seconds())
	s.lat = make([]int64, 0, s.total-s.firstDue)
	// the timer's clock is read after Go's, so a due time the timer says
	// has come has come by s.now() too
	s.start = time.Now()
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return s.res, err
	}
	s.startMon = ts.Nano()
	// answers still owed after the last request is due get a grace period
	end := s.dueAt(s.total) + int64(2*time.Second)
	events := make([]unix.EpollEvent, 64)
	for {
		now := s.now()
		if err := s.sendDue(now); err != nil {
			return s.res, err
		}
		if s.next >= s.total && len(s.queued) == 0 && len(s.free) == len(s.conns) || now > end {
			break
		}
		if err := ctx.Err(); err != nil {
			return s.result(), err
		}
		if err := s.arm(); err != nil {
			return s.res, err
		}
		n, err := unix.EpollWait(s.epfd, events, -1)
		if err != nil && !errors.Is(err, unix.EINTR) {
			return s.res, fmt.Errorf("epoll wait: %w", err)
		}
		for _, ev := range events[:max(n, 0)] {
			if int(ev.Fd) == s.tfd {
				var b [8]byte
				_, _ = unix.Read(s.tfd, b[:])
				s.armed = -1 // spent
				continue
			}
			if err := s.readable(s.byFD[int(ev.Fd)]); err != nil {
				return s.res, err
			}
		}
	}
	return s.result(), nil
}

func (s *loopState) now() int64 { return int64(time.Since(s.start)) }

// arm sets the timer to the next due request, or disarms it when none is
// left (answers still wake the loop).
func (s *loopState) arm() error {
	at := s.dueAt(s.total) + int64(2*time.Second)
	if s.next < s.total {
		at = s.dueAt(s.next)
	}
	if at == s.armed {
		return nil
	}
	s.armed = at
	spec := unix.ItimerSpec{Value: unix.NsecToTimespec(s.startMon + at)}
	return unix.TimerfdSettime(s.tfd, unix.TFD_TIMER_ABSTIME, &spec, nil)
}

// sendDue sends every request due by now: those waiting for a connection
// first, then the newly due.
func (s *loopState) sendDue(now int64) error {
	for ; s.next < s.total && s.dueAt(s.next) <= now; s.next++ {
		due := s.dueAt(s.next)
		if s.next < s.firstDue {
			due = -2 - due // warmup: sent, not timed (kept below -1, which means free)
		} else {
			s.res.Sent++
		}
		if len(s.free) == 0 || len(s.queued) > 0 {
			s.queued = append(s.queued, due)
			if due >= 0 {
				s.res.Waited++
			}
			continue
		}
		if err := s.send(due); err != nil {
			return err
		}
	}
	for len(s.queued) > 0 && len(s.free) > 0 {
		due := s.queued[0]
		s.queued = s.queued[1:]
		if err := s.send(due); err != nil {
			return err
		}
	}
	return nil
}

// send writes the next request on a free connection.
func (s *loopState) send(due int64) error {
	c := s.free[len(s.free)-1]
	s.free = s.free[:len(s.free)-1]
	c.due, c.buf, c.need = due, c.buf[:0], 0
	s.res.MaxBusy = max(s.res.MaxBusy, len(s.conns)-len(s.free))
	req := s.o.Requests[s.next%int64(len(s.o.Requests))]
	for len(req) > 0 {
		n, err := unix.Write(c.fd, req)
		if err != nil {
			// a request of a few hundred bytes on a connection with
			// nothing in flight fits the socket buffer; anything else is
			// a broken connection
			return fmt.Errorf("send request: %w", err)
		}
		req = req[n:]
	}
	return nil
}

// readable reads what arrived on c and, once its whole answer is in,
// records it and frees the connection.
func (s *loopState) readable(c *loopConn) error {
	if c == nil {
		return nil
	}
	for {
		if len(c.buf) == cap(c.buf) {
			c.buf = slices.Grow(c.buf, cap(c.buf))
		}
		n, err := unix.Read(c.fd, c.buf[len(c.buf):cap(c.buf)])
		if errors.Is(err, unix.EAGAIN) {
			return nil
		}
		if err != nil || n == 0 {
			return s.broken(c, err)
		}
		c.buf = c.buf[:len(c.buf)+n]
		done, ok, err := answered(c)
		if err != nil {
			return err
		}
		if done {
			return s.record(c, ok)
		}
	}
}

// answered reports whether c holds a whole answer and whether it was 2xx.
func answered(c *loopConn) (done, ok bool, err error) {
	if c.need == 0 {
		end := bytes.Index(c.buf, []byte("\r\n\r\n"))
		if end < 0 {
			return false, false, nil
		}
		length, closing, err := parseHead(c.buf[:end])
		if err != nil {
			return false, false, err
		}
		c.closing = closing
		c.need = end + 4 + length
	}
	if len(c.buf) < c.need {
		return false, false, nil
	}
	if len(c.buf) > c.need {
		return false, false, fmt.Errorf("answer longer than its Content-Length (%d bytes after it)", len(c.buf)-c.need)
	}
	return true, len(c.buf) > 9 && c.buf[9] == '2', nil
}

// parseHead reads the Content-Length of an answer's head (the servers
// measured answer predictions with it, never chunked) and whether the server
// closes the connection after it (nginx does every 1000 requests).
func parseHead(head []byte) (length int, closing bool, err error) {
	length = -1
	for _, line := range bytes.Split(head, []byte("\r\n"))[1:] {
		name, value, ok := bytes.Cut(line, []byte(":"))
		name, value = bytes.TrimSpace(name), bytes.TrimSpace(value)
		switch {
		case !ok:
		case bytes.EqualFold(name, []byte("Content-Length")):
			if length, err = strconv.Atoi(string(value)); err != nil || length < 0 {
				return 0, false, fmt.Errorf("answer with Content-Length %q", value)
			}
		case bytes.EqualFold(name, []byte("Connection")):
			closing = bytes.EqualFold(value, []byte("close"))
		}
	}
	if length < 0 {
		return 0, false, fmt.Errorf("answer without Content-Length: %q", head)
	}
	return length, closing, nil
}

func (s *loopState) record(c *loopConn, ok bool) error {
	s.res.AllAnswered++
	if c.due >= 0 {
		s.res.Answered++
		if !ok {
			s.res.Status++
		}
		s.lat = append(s.lat, s.now()-c.due)
	}
	c.due = -1
	if c.closing {
		return s.replace(c, nil)
	}
	s.free = append(s.free, c)
	return nil
}

// broken replaces a connection the server closed or broke: its request
// counts as an error.
func (s *loopState) broken(c *loopConn, cause error) error {
	if c.due >= 0 {
		s.res.Errors++
	}
	return s.replace(c, cause)
}

// replace closes c and opens its replacement, which is free afterwards.
func (s *loopState) replace(c *loopConn, cause error) error {
	_ = unix.EpollCtl(s.epfd, unix.EPOLL_CTL_DEL, c.fd, nil)
	unix.Close(c.fd)
	delete(s.byFD, c.fd)
	n, err := s.dial()
	if err != nil {
		return fmt.Errorf("reconnect (after %v): %w", cause, err)
	}
	for i := range s.conns {
		if s.conns[i] == c {
			s.conns[i] = n
		}
	}
	if i := slices.Index(s.free, c); i >= 0 {
		s.free[i] = n
	} else {
		s.free = append(s.free, n)
	}
	return nil
}

func (s *loopState) result() PacedResult {
	r := s.res
	r.Rate = s.o.Rate
	r.Lost = r.Sent - r.Answered - r.Errors
	slices.Sort(s.lat)
	pct := func(p float64) int64 {
		if len(s.lat) == 0 {
			return 0
		}
		return s.lat[min(len(s.lat)-1, int(p*float64(len(s.lat))))] / 1000
	}
	r.P50US, r.P90US, r.P99US = pct(0.50), pct(0.90), pct(0.99)
	if len(s.lat) > 0 {
		r.MaxUS = s.lat[len(s.lat)-1] / 1000
	}
	return r
}
