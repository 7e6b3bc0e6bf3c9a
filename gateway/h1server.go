package gateway

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/net/http/httpguts"
)

// h1Server serves the data plane's connections itself while each request
// is a plain HTTP/1.1 one (h1head.go says which), and hands a connection,
// with every byte it has read and not used, to net/http at the first
// request it does not take. So net/http still answers everything unusual
// (HTTP/1.0, chunked bodies, Expect, upgrades, odd paths, malformed heads)
// with its own answers, and the handlers are the same http.Handler.
//
// Why by hand: on a one-instance prediction net/http's own work per
// request is a third of the gateway's CPU: a goroutine reading in the
// background to notice a client leaving, a cancelable context, three or
// four deadline moves, the header map cloned and sorted to write it, the
// answer chunked through two buffers. fasthttp avoids those but has its
// own handler and request types (every handler written twice) and cannot
// give a connection back to net/http for the requests it should not take.
//
// What differs from net/http on the requests it takes: a request's
// context ends when its connection does, or when its client goes away
// after the handler called watchClient (it takes bodies of one batch
// only, h1MaxBody, so a native prediction has nothing to cut short); a
// body past an http.MaxBytesReader limit does not cost the connection
// (the whole body was read before the handler ran); headers are written in the
// map's order; a handler must have written its whole body before Flush,
// which sends the answer (the data plane's handlers do); a handler must
// not use its request, nor its header, after it returns: the connection's
// next request reuses the *http.Request, its URL and the header map, as
// net/http reuses a ResponseWriter's buffers. The body is each request's
// own, so a goroutine reading it late reads nothing rather than the next
// request's bytes.
type h1Server struct {
	handler  http.Handler
	logger   *slog.Logger
	limits   *http.Server // the timeouts net/http would apply
	date     *httpDate
	handoff  *handoffListener
	closing  atomic.Bool
	handoffs atomic.Int64 // connections given to net/http, for tests

	ctx    context.Context // every request's, ended by a forced close
	cancel context.CancelFunc

	mu    sync.Mutex
	ln    net.Listener
	conns map[*h1Conn]struct{}
	wg    sync.WaitGroup
}

// h1Conn states: waiting for a request, serving one, closed by shutdown.
const (
	h1Idle int32 = iota
	h1Active
	h1Closed
)

// h1BufSize is the read buffer of a connection: a request head larger
// than this goes to net/http, which allows MaxHeaderBytes.
const h1BufSize = 4096

// h1MaxBody is the largest body h1Server takes. Every row of a request
// takes at least two bytes ("0,"), so a body this short holds at most
// batchRows rows: one batch, which no look at the context could cut
// short. A larger body goes to net/http, whose background read ends the
// request's context when the client leaves, so a large prediction still
// stops between batches then.
const h1MaxBody = 2 * batchRows

func newH1Server(handler http.Handler, limits *http.Server, date *httpDate, logger *slog.Logger, addr net.Addr) *h1Server {
	ctx, cancel := context.WithCancel(context.Background())
	return &h1Server{handler: handler, logger: logger, limits: limits, date: date,
		handoff: newHandoffListener(addr), ctx: ctx, cancel: cancel, conns: map[*h1Conn]struct{}{}}
}

// serve accepts connections on ln until shutdown closes it.
func (h *h1Server) serve(ln net.Listener) error {
	h.mu.Lock()
	h.ln = ln
	h.mu.Unlock()
	if h.closing.Load() {
		ln.Close()
		return http.ErrServerClosed
	}
	var backoff time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			if h.closing.Load() {
				return http.ErrServerClosed
			}
			if !retryableAccept(err) {
				return err
			}
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			h.logger.Warn("data plane: accept failed; retrying", "error", err, "after", backoff)
			time.Sleep(backoff)
			continue
		}
		backoff = 0
		if _, ok := c.(*tls.Conn); ok {
			h.handOff(c)
			continue
		}
		hc := h.track(c)
		if hc == nil {
			c.Close()
			continue
		}
		go hc.serve()
	}
}

// retryableAccept says whether an Accept error passes, as net/http
// judges: a timeout, or the process or system out of descriptors or
// memory, or a client gone before it was accepted.
func retryableAccept(err error) bool {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	for _, e := range []syscall.Errno{syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM,
		syscall.ECONNABORTED, syscall.ECONNRESET, syscall.EINTR, syscall.EAGAIN, syscall.ETIMEDOUT} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

func (h *h1Server) track(c net.Conn) *h1Conn {
	hc := &h1Conn{srv: h, c: c, br: bufio.NewReaderSize(c, h1BufSize)}
	hc.ctx, hc.cancel = context.WithCancel(h.ctx)
	context.AfterFunc(hc.ctx, hc.guard.end)
	hc.base = (&http.Request{}).WithContext(context.WithValue(hc.ctx, h1ConnKey{}, hc))
	hc.w.hc = hc
	if a := c.RemoteAddr(); a != nil {
		hc.remote = a.String()
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closing.Load() {
		return nil
	}
	h.conns[hc] = struct{}{}
	h.wg.Add(1)
	return hc
}

func (h *h1Server) forget(hc *h1Conn) {
	h.mu.Lock()
	delete(h.conns, hc)
	h.mu.Unlock()
	hc.cancel()
	h.wg.Done()
}

// handOff gives c to net/http, or closes it once shutdown has begun.
func (h *h1Server) handOff(c net.Conn) {
	h.handoffs.Add(1)
	h.handoff.give(c)
}

// shutdown stops accepting, closes idle connections and waits for the
// others to finish their request, until ctx ends; then it closes them.
func (h *h1Server) shutdown(ctx context.Context) error {
	h.mu.Lock()
	h.closing.Store(true)
	if h.ln != nil {
		h.ln.Close()
	}
	h.mu.Unlock()
	h.handoff.Close()
	done := make(chan struct{})
	go func() { h.wg.Wait(); close(done) }()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		h.closeIdle()
		select {
		case <-done:
			return nil
		case <-ctx.Done():
			h.cancel()
			h.closeAll() // as net/http: handlers still running are not waited for
			return ctx.Err()
		case <-tick.C:
		}
	}
}

func (h *h1Server) closeIdle() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for hc := range h.conns {
		if hc.state.CompareAndSwap(h1Idle, h1Closed) {
			hc.c.Close()
		}
	}
}

func (h *h1Server) closeAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for hc := range h.conns {
		hc.state.Store(h1Closed)
		hc.c.Close()
	}
}

// h1Conn is one client connection served by h1Server.
type h1Conn struct {
	srv    *h1Server
	c      net.Conn
	br     *bufio.Reader
	state  atomic.Int32
	ctx    context.Context
	cancel context.CancelFunc
	base   *http.Request // holds ctx; each request starts as a copy
	req    http.Request  // the request being served, reused (see h1Server)
	url    url.URL       // req's URL
	remote string
	body   *h1Body // the request's, nil without one
	// nextBody is the body readBody read, until request gives the request
	// its own copy (and body then points to that copy).
	nextBody h1Body
	head     headStore // the requests' header map, reused
	bodyBuf  []byte
	w        h1Writer
	out      []byte // the answer's bytes, kept between requests
	// The client watch (watchClient): armed and its timer on the serve
	// goroutine; the rest under watchMu, shared with the timer's.
	watchArmed   bool
	watchTimer   *time.Timer
	watchMu      sync.Mutex
	watchStopped bool
	watching     chan struct{} // the watching read's end, while one runs
	guard        ioGuard       // ends a request's upstream I/O when ctx ends
}

// ioGuard ends the I/O of one other connection, a request's upstream
// one, when its h1Conn's context ends (the client left, or shutdown
// forced it). It costs a request two short locks and no allocation,
// where context.AfterFunc allocates three objects and takes the
// parent's lock twice.
type ioGuard struct {
	mu    sync.Mutex
	c     net.Conn // the connection being guarded; nil between uses
	ended bool
}

// end interrupts the guarded connection's I/O, now and from now on.
func (g *ioGuard) end() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.ended = true
	if g.c != nil {
		_ = g.c.SetDeadline(aLongTimeAgo)
	}
}

// guard starts guarding c; false when the context has ended already or
// another connection is guarded (the caller then guards c itself).
func (g *ioGuard) guard(c net.Conn) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.ended || g.c != nil {
		return false
	}
	g.c = c
	return true
}

// release stops guarding; ended says whether the context ended meanwhile
// (c's deadline may then have been moved).
func (g *ioGuard) release() (ended bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.c = nil
	return g.ended
}

// ioGuardOf returns the guard that ends I/O exactly when ctx ends: ctx
// is a request's context of h1Server or one that ends with it (same Done),
// as a deadlineContext does. nil for any other.
func ioGuardOf(ctx context.Context) *ioGuard {
	hc, ok := ctx.Value(h1ConnKey{}).(*h1Conn)
	if !ok || ctx.Done() != hc.ctx.Done() {
		return nil
	}
	return &hc.guard
}

// serve serves requests until the connection ends, shutdown closes it or
// a request goes to net/http.
func (hc *h1Conn) serve() {
	defer hc.srv.forget(hc)
	for first := true; ; first = false {
		if !hc.awaitRequest(first) {
			hc.c.Close()
			return
		}
		start := time.Now()
		lim := hc.srv.limits
		hc.c.SetReadDeadline(deadline(start, lim.ReadTimeout))
		head, res := hc.readHead(start)
		if res == headRead {
			hc.readBody(head.length)
		}
		switch res {
		case headFailed:
			hc.c.Close()
			return
		case headNotOurs:
			hc.handOff()
			return
		}
		hc.c.SetWriteDeadline(deadline(start, lim.WriteTimeout))
		if !hc.serveRequest(head) || !hc.state.CompareAndSwap(h1Active, h1Idle) || hc.srv.closing.Load() {
			hc.c.Close()
			return
		}
	}
}

// deadline is now+d, or none when d is not positive, as net/http reads
// its timeouts.
func deadline(now time.Time, d time.Duration) time.Time {
	if d <= 0 {
		return time.Time{}
	}
	return now.Add(d)
}

// waitTimeout is how long a connection may wait for a request's first
// byte: the header timeout for its first request, the idle timeout
// between requests; each falls back to ReadTimeout as in net/http.
func (h *h1Server) waitTimeout(first bool) time.Duration {
	d := h.limits.IdleTimeout
	if first {
		d = h.limits.ReadHeaderTimeout
	}
	if d <= 0 {
		d = h.limits.ReadTimeout
	}
	return d
}

// awaitRequest waits for a request's first byte within waitTimeout and
// marks the connection active; false when the connection ended or
// shutdown closed it.
func (hc *h1Conn) awaitRequest(first bool) bool {
	if hc.br.Buffered() == 0 {
		hc.c.SetReadDeadline(deadline(time.Now(), hc.srv.waitTimeout(first)))
		if _, err := hc.br.Peek(1); err != nil {
			return false
		}
	}
	return hc.state.CompareAndSwap(h1Idle, h1Active)
}

// readBody reads the body's n bytes (at most h1MaxBody) out of the
// connection's reader before the handler runs, so a read watching for the
// client to leave (watchClient) never shares the reader with the handler.
// A body cut short is the handler's to see, as with net/http: its bytes,
// then the error; the connection closes after the answer. Each request
// has its own body, closed when its handler returns.
func (hc *h1Conn) readBody(n int64) {
	hc.body = nil
	if n == 0 {
		return
	}
	b, err := hc.br.Peek(int(n))
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	if err == nil {
		err = io.EOF
	}
	hc.bodyBuf = append(hc.bodyBuf[:0], b...)
	hc.br.Discard(len(b))
	hc.body = &hc.nextBody
	hc.nextBody = h1Body{b: hc.bodyBuf, err: err}
}

// What readHead found.
const (
	headRead    = iota
	headNotOurs // the request goes to net/http
	headFailed  // the connection failed or timed out
)

// readHead reads a request's head, within the header timeout when it
// did not come whole, and parses it.
func (hc *h1Conn) readHead(start time.Time) (h1Head, int) {
	timed := false
	for {
		buf, _ := hc.br.Peek(hc.br.Buffered())
		h, n := parseHead(buf, &hc.head)
		switch {
		case n > 0 && h.length > h1MaxBody:
			return h, headNotOurs
		case n > 0:
			hc.br.Discard(n)
			if timed {
				hc.c.SetReadDeadline(deadline(start, hc.srv.limits.ReadTimeout))
			}
			return h, headRead
		case n < 0 || len(buf) == h1BufSize:
			return h, headNotOurs
		}
		if !timed {
			timed = true
			hc.c.SetReadDeadline(deadline(start, hc.srv.waitTimeout(true)))
		}
		if _, err := hc.br.Peek(len(buf) + 1); err != nil {
			if len(buf) > 0 && !errors.Is(err, os.ErrDeadlineExceeded) {
				return h, headNotOurs // net/http answers a cut head with its 400
			}
			return h, headFailed
		}
	}
}

// handOff gives the connection, with what it has read and not used, to
// net/http.
func (hc *h1Conn) handOff() {
	pre, _ := hc.br.Peek(hc.br.Buffered())
	hc.state.Store(h1Closed)
	hc.srv.handOff(&prefixConn{Conn: hc.c, pre: append([]byte(nil), pre...)})
}

// serveRequest runs the handler on one request and writes its answer;
// false when the connection must close after it.
func (hc *h1Conn) serveRequest(head h1Head) (keep bool) {
	r := hc.request(head)
	w := &hc.w
	w.reset(r.Close)
	defer func() {
		hc.stopWatch()
		if b := hc.body; b != nil {
			b.closed = true // a handler's goroutine reading it later gets ErrBodyReadAfterClose
			if b.err != io.EOF {
				keep = false // the body was cut short: the connection is spent
			}
		}
		w.release()
		if v := recover(); v != nil {
			keep = false
			if v != http.ErrAbortHandler {
				hc.srv.logger.Error("data plane: handler panicked", "remote", hc.remote, "panic", v, "stack", string(debug.Stack()))
			}
		}
	}()
	hc.srv.handler.ServeHTTP(w, r)
	if !w.sent {
		w.send()
	}
	return !w.close && !w.failed
}

// request builds the *http.Request net/http would have for head, in the
// connection's own request and URL: the only allocation is the body's.
// Allocating the request for each one was half of a proxied request's
// garbage: reusing it halves the collections at one connection.
func (hc *h1Conn) request(head h1Head) *http.Request {
	hc.req, hc.url = *hc.base, url.URL{Path: head.target}
	r := &hc.req
	r.Method = head.method
	r.URL = &hc.url
	r.RequestURI = head.target
	r.Proto, r.ProtoMajor, r.ProtoMinor = "HTTP/1.1", 1, 1
	r.Header = head.header
	r.Host = head.host
	r.RemoteAddr = hc.remote
	r.Close = head.close
	r.ContentLength = head.length
	r.Body = http.NoBody
	if hc.body != nil {
		b := new(h1Body)
		*b, hc.nextBody = hc.nextBody, h1Body{}
		hc.body, r.Body = b, b
	}
	return r
}

// watchClient has the read net/http keeps running beside every handler
// run beside this one, from watchDelay on: r's context ends when its
// client closes the connection. A handler waiting on another server (an
// upstream) calls it;
// a native prediction of one batch does not need it. It does nothing for
// a request net/http serves, which has that read already.
func watchClient(r *http.Request) {
	if hc, ok := r.Context().Value(h1ConnKey{}).(*h1Conn); ok {
		hc.watch()
	}
}

// h1ConnKey is the context key of a request's h1Conn.
type h1ConnKey struct{}

// aLongTimeAgo is a read deadline that stops a pending read at once.
var aLongTimeAgo = time.Unix(1, 0)

// watchDelay is how long a request that asked for a watch waits before
// the watch starts. Most upstream answers come well within it, and a
// watch costs a goroutine and two deadline moves; a client that leaves
// is noticed at most this much later than under net/http.
const watchDelay = 20 * time.Millisecond

// watch arms the watch: it starts after watchDelay unless stopWatch
// comes first.
func (hc *h1Conn) watch() {
	if hc.watchArmed {
		return
	}
	hc.watchArmed = true
	hc.watchMu.Lock()
	hc.watchStopped = false
	hc.watchMu.Unlock()
	if hc.watchTimer == nil {
		hc.watchTimer = time.AfterFunc(watchDelay, hc.startWatch)
	} else {
		hc.watchTimer.Reset(watchDelay)
	}
}

// startWatch starts the watching read, on the timer's goroutine.
func (hc *h1Conn) startWatch() {
	hc.watchMu.Lock()
	defer hc.watchMu.Unlock()
	if hc.watchStopped || hc.watching != nil {
		return
	}
	done := make(chan struct{})
	hc.watching = done
	// The body is read: no ReadTimeout is left to keep, and the watch must
	// outlast it (as net/http's background read does).
	hc.c.SetReadDeadline(time.Time{})
	go func() {
		defer close(done)
		// A byte (a pipelined request) stays buffered; only the client
		// closing or failing the connection ends the context.
		if _, err := hc.br.Peek(1); err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
			hc.cancel()
		}
	}()
}

// stopWatch disarms the watch, or ends its read and waits for it.
func (hc *h1Conn) stopWatch() {
	if !hc.watchArmed {
		return
	}
	hc.watchArmed = false
	hc.watchTimer.Stop()
	hc.watchMu.Lock()
	hc.watchStopped = true
	done := hc.watching
	hc.watching = nil
	hc.watchMu.Unlock()
	if done != nil {
		hc.c.SetReadDeadline(aLongTimeAgo)
		<-done
	}
}

// h1Body is a request's body, read from the connection before the
// handler ran: b, then err (io.EOF for a whole body).
type h1Body struct {
	b      []byte
	err    error
	closed bool
	taken  bool // take has the bytes, or Read read some: take takes none
}

func (b *h1Body) Read(p []byte) (int, error) {
	if b.closed {
		return 0, http.ErrBodyReadAfterClose
	}
	if len(b.b) == 0 {
		return 0, b.err
	}
	b.taken = true
	n := copy(p, b.b)
	b.b = b.b[n:]
	if len(b.b) == 0 && b.err == io.EOF {
		return n, io.EOF
	}
	return n, nil
}

func (b *h1Body) Close() error { return nil }

// take returns the whole body, unread and within limit, and leaves the
// body read; ok is false, and the body as it was, otherwise. The bytes
// are the connection's, valid until the handler returns.
func (b *h1Body) take(limit int64) (body []byte, ok bool) {
	if b.closed || b.err != io.EOF || b.taken || int64(len(b.b)) > limit {
		return nil, false
	}
	body, b.b, b.taken = b.b, nil, true
	return body, true
}

// h1Writer is the http.ResponseWriter of h1Server: it keeps the body and
// sends the whole answer, with its Content-Length, when the handler
// returns or flushes. As with net/http, the header is what it was at
// WriteHeader (or the first Write).
type h1Writer struct {
	hc     *h1Conn
	header http.Header
	status int    // 0 until WriteHeader
	head   []byte // the status line and header fields, from WriteHeader
	sniff  bool   // no Content-Type or Content-Encoding: net/http guesses one
	hasDat bool   // the handler set a Date
	body   []byte
	sent   bool
	close  bool     // Connection: close
	conn   []string // the handler's Connection values
	failed bool     // writing the answer failed: the connection is out of step
}

// h1KeepBuf is the largest buffer a connection keeps between requests.
const h1KeepBuf = 8 << 10

// errFlushed is what a Write after Flush returns: the answer has gone.
var errFlushed = errors.New("gateway: write after the answer was flushed; a data plane handler writes its whole body before Flush")

func (w *h1Writer) reset(closeAfter bool) {
	if w.header == nil {
		w.header = make(http.Header, 4)
	}
	clear(w.header) // a handler does not use its header after it returns
	w.status, w.sent, w.close, w.failed = 0, false, closeAfter, false
	w.body = w.body[:0]
}

// release lets go of a body buffer larger than h1KeepBuf, so an idle
// connection holds little.
func (w *h1Writer) release() {
	if cap(w.body) > h1KeepBuf {
		w.body = nil
	}
}

func (w *h1Writer) Header() http.Header { return w.header }

func (w *h1Writer) WriteHeader(code int) {
	if code < 100 || code > 999 {
		panic(fmt.Sprintf("invalid WriteHeader code %v", code))
	}
	switch {
	case w.status != 0 || w.sent:
		return
	case code < 200 && code != http.StatusSwitchingProtocols:
		w.informational(code)
		return
	}
	w.status = code
	w.head = appendHeaders(appendStatusLine(w.hc.out[:0], code), w.header)
	_, ct := w.header["Content-Type"]
	w.sniff = !ct && w.header.Get("Content-Encoding") == "" && len(w.header["Transfer-Encoding"]) == 0
	_, w.hasDat = w.header["Date"]
	w.conn = w.header["Connection"]
	if httpguts.HeaderValuesContainsToken(w.conn, "close") {
		w.close = true
	}
}

// informational sends a 1xx answer at once, as net/http does.
func (w *h1Writer) informational(code int) {
	b := appendHeaderFields(appendStatusLine(w.hc.out[:0], code), w.header, true)
	b = append(b, "\r\n"...)
	if _, err := w.hc.c.Write(b); err != nil {
		w.failed = true
	}
}

func (w *h1Writer) Write(p []byte) (int, error) {
	if w.sent {
		return 0, errFlushed
	}
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if !bodyAllowed(w.status) {
		return 0, http.ErrBodyNotAllowed
	}
	w.body = append(w.body, p...)
	return len(p), nil
}

// Flush sends the answer.
func (w *h1Writer) Flush() {
	if !w.sent {
		w.send()
	}
}

func bodyAllowed(status int) bool {
	return status != http.StatusNoContent && status != http.StatusNotModified && status >= 200
}

// send writes the answer in one write; false when that failed.
func (w *h1Writer) send() bool {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	w.sent = true
	hc := w.hc
	if hc.srv.closing.Load() {
		w.close = true
	}
	b := w.head
	if !w.hasDat {
		b = append(b, "Date: "...)
		b = append(b, hc.srv.date.header(time.Now())[0]...)
		b = append(b, "\r\n"...)
	}
	if bodyAllowed(w.status) {
		if w.sniff && len(w.body) > 0 {
			b = append(b, "Content-Type: "...)
			b = append(b, http.DetectContentType(w.body)...)
			b = append(b, "\r\n"...)
		}
		b = append(b, "Content-Length: "...)
		b = strconv.AppendInt(b, int64(len(w.body)), 10)
		b = append(b, "\r\n"...)
	}
	if w.close {
		b = append(b, "Connection: close\r\n"...)
	} else if len(w.conn) > 0 {
		b = appendHeaderFields(b, http.Header{"Connection": w.conn}, true)
	}
	b = append(b, "\r\n"...)
	b = append(b, w.body...)
	if cap(b) <= h1KeepBuf {
		hc.out = b
	}
	if w.failed { // an informational answer could not be written
		return false
	}
	if _, err := hc.c.Write(b); err != nil {
		w.failed = true
	}
	return !w.failed
}

func appendStatusLine(b []byte, status int) []byte {
	b = append(b, "HTTP/1.1 "...)
	b = strconv.AppendInt(b, int64(status), 10)
	b = append(b, ' ')
	if text := http.StatusText(status); text != "" {
		b = append(b, text...)
	} else {
		b = append(b, "status code "...)
		b = strconv.AppendInt(b, int64(status), 10)
	}
	return append(b, "\r\n"...)
}

// appendHeaders writes h as net/http would: invalid names skipped, values
// trimmed, line breaks in them turned into spaces; Content-Length,
// Transfer-Encoding and Connection are the writer's own.
func appendHeaders(b []byte, h http.Header) []byte { return appendHeaderFields(b, h, false) }

// appendHeaderFields is appendHeaders, with the handler's Connection
// fields too when withConnection (an informational answer's, as net/http
// writes them).
func appendHeaderFields(b []byte, h http.Header, withConnection bool) []byte {
	for k, vs := range h {
		if k == "Content-Length" || k == "Transfer-Encoding" || (k == "Connection" && !withConnection) || !httpguts.ValidHeaderFieldName(k) {
			continue
		}
		for _, v := range vs {
			b = append(b, k...)
			b = append(b, ": "...)
			b = appendHeaderValue(b, v)
			b = append(b, "\r\n"...)
		}
	}
	return b
}

// appendHeaderValue appends v without the spaces and tabs around it and
// with its line breaks turned into spaces.
func appendHeaderValue(b []byte, v string) []byte {
	for len(v) > 0 && (v[0] == ' ' || v[0] == '\t') {
		v = v[1:]
	}
	for len(v) > 0 && (v[len(v)-1] == ' ' || v[len(v)-1] == '\t') {
		v = v[:len(v)-1]
	}
	if strings.IndexByte(v, '\r') < 0 && strings.IndexByte(v, '\n') < 0 {
		return append(b, v...)
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == '\r' || c == '\n' {
			c = ' '
		}
		b = append(b, c)
	}
	return b
}

// handoffListener is the listener net/http serves: the connections
// h1Server gives up.
type handoffListener struct {
	addr  net.Addr
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func newHandoffListener(addr net.Addr) *handoffListener {
	return &handoffListener{addr: addr, conns: make(chan net.Conn), done: make(chan struct{})}
}

func (l *handoffListener) give(c net.Conn) {
	select {
	case l.conns <- c:
	case <-l.done:
		c.Close()
	}
}

func (l *handoffListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *handoffListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *handoffListener) Addr() net.Addr { return l.addr }

// prefixConn reads pre before its connection: the bytes h1Server read
// from a connection it handed to net/http.
type prefixConn struct {
	net.Conn
	pre []byte
}

func (c *prefixConn) Read(p []byte) (int, error) {
	if len(c.pre) == 0 {
		return c.Conn.Read(p)
	}
	n := copy(p, c.pre)
	c.pre = c.pre[n:]
	return n, nil
}

// CloseWrite lets net/http half-close the connection as it does a TCP one.
func (c *prefixConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}
