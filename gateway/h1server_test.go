package gateway

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// echoHandler answers with what it saw of the request.
func echoHandler(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/panic":
		panic("test panic")
	case "/noread":
		w.Write([]byte("not read"))
		return
	case "/status/418":
		w.WriteHeader(http.StatusTeapot)
	case "/gzip": // no Content-Type is guessed for an encoded body
		w.Header().Set("Content-Encoding", "gzip")
		w.Write([]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0})
		return
	case "/conn-close":
		w.Header().Set("Connection", "close")
	case "/early":
		w.Header().Set("Link", "</a.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
	case "/413": // refused before reading: the body is framed, the connection stays
		http.Error(w, "too large", http.StatusRequestEntityTooLarge)
		return
	case "/early-conn":
		w.Header().Set("Connection", "keep-alive")
		w.WriteHeader(http.StatusEarlyHints)
	case "/limited":
		r.Body = http.MaxBytesReader(w, r.Body, 2)
		if _, err := io.ReadAll(r.Body); err != nil {
			http.Error(w, err.Error(), http.StatusRequestEntityTooLarge)
			return
		}
	}
	body, err := io.ReadAll(r.Body)
	keys := make([]string, 0, len(r.Header))
	for k, v := range r.Header {
		keys = append(keys, k+"="+strings.Join(v, "|"))
	}
	slices.Sort(keys)
	w.Header().Set("X-Echo", "1")
	w.Header().Add("X-Multi", "a")
	w.Header().Add("X-Multi", "b")
	json.NewEncoder(w).Encode(map[string]any{
		"method": r.Method, "uri": r.RequestURI, "path": r.URL.Path, "host": r.Host, "proto": r.Proto,
		"header": keys, "length": r.ContentLength, "close": r.Close, "body": string(body), "err": fmt.Sprint(err),
	})
}

// startH1 serves handler as Serve serves the data plane: h1Server in
// front, net/http behind it for what it hands off.
func startH1(t *testing.T, handler http.Handler, edit func(*http.Server), logger *slog.Logger) (string, *h1Server) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	limits := (&Server{}).httpServer(handler)
	if edit != nil {
		edit(limits)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	h := newH1Server(handler, limits, &httpDate{}, logger, ln.Addr())
	done := make(chan struct{}, 2)
	go func() { h.serve(rawListener{ln}); done <- struct{}{} }()
	go func() { limits.Serve(h.handoff); done <- struct{}{} }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := h.shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		limits.Shutdown(ctx)
		<-done
		<-done
	})
	return ln.Addr().String(), h
}

// exchange writes raw to addr, half-closes and reads every answer until
// the server closes the connection.
func exchange(t *testing.T, addr, raw string) []string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	go func() {
		io.WriteString(c, raw)
		c.(*net.TCPConn).CloseWrite()
	}()
	var out []string
	br := bufio.NewReader(c)
	for {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, net.ErrClosed) && !isReset(err) {
				t.Fatalf("%q: %v", raw, err)
			}
			return out
		}
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatalf("%q: body: %v", raw, err)
		}
		resp.Header.Del("Date")
		var h bytes.Buffer
		resp.Header.Write(&h)
		out = append(out, fmt.Sprintf("%s close=%v\n%s\n%s", resp.Status, resp.Close, h.String(), body))
	}
}

func isReset(err error) bool { return strings.Contains(err.Error(), "connection reset") }

// rawExchanges are byte streams a client may send on one connection.
var rawExchanges = []string{
	"POST /v1/models/m:predict HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Type: application/json\r\n\r\nhello",
	"GET /v2/health/ready HTTP/1.1\r\nHost: a\r\nX-Request-Id: r1\r\n\r\n",
	"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabcGET /y HTTP/1.1\r\nHost: a\r\n\r\n",
	"POST /x HTTP/1.1\r\nHost: a\r\nConnection: close\r\nContent-Length: 1\r\n\r\naGET /y HTTP/1.1\r\nHost: a\r\n\r\n",
	"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\naGET /y HTTP/1.0\r\nHost: a\r\n\r\n",
	"GET /y HTTP/1.0\r\nHost: a\r\n\r\n",
	"GET /y HTTP/1.0\r\nHost: a\r\nConnection: keep-alive\r\n\r\nGET /z HTTP/1.1\r\nHost: a\r\n\r\n",
	"POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
	"POST /e HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nab",
	"GET / HTTP/1.1\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
	"GET /a%2Fb?q=1 HTTP/1.1\r\nHost: a\r\n\r\n",
	"PUT /p HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\nz",
	"GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n",
	"GET / HTTP/1.1\nHost: a\n\n",
	"GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + strings.Repeat("b", 5000) + "\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + strings.Repeat("b", 100<<10) + "\r\n\r\n",
	"POST /noread HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\nabcdGET /after HTTP/1.1\r\nHost: a\r\n\r\n",
	"POST /noread HTTP/1.1\r\nHost: a\r\nContent-Length: 300000\r\n\r\n" + strings.Repeat("x", 300000) + "GET /after HTTP/1.1\r\nHost: a\r\n\r\n",
	"POST /short HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc",
	"POST /status/418 HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nok",
	"GET /x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
	"GET /gzip HTTP/1.1\r\nHost: a\r\n\r\n",
	"GET /conn-close HTTP/1.1\r\nHost: a\r\n\r\nGET /x HTTP/1.1\r\nHost: a\r\n\r\n",
	"GET /early HTTP/1.1\r\nHost: a\r\n\r\nGET /x HTTP/1.1\r\nHost: a\r\n\r\n",
	"POST /413 HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nabcdeGET /x HTTP/1.1\r\nHost: a\r\n\r\n",
	"GET /early-conn HTTP/1.1\r\nHost: a\r\n\r\n",
	"garbage\r\n\r\n",
	"GET /x HTTP/1.1\r\nHost: a\r\n",
}

// TestH1Server_AnswersAsNetHTTP: every exchange gets the answers plain
// net/http gives, byte for byte but the Date.
func TestH1Server_AnswersAsNetHTTP(t *testing.T) {
	h := http.HandlerFunc(echoHandler)
	addr, _ := startH1(t, h, nil, nil)
	plain := httptest.NewUnstartedServer(h)
	plain.Config = (&Server{}).httpServer(h)
	plain.Start()
	defer plain.Close()
	for _, raw := range rawExchanges {
		want := exchange(t, plain.Listener.Addr().String(), raw)
		got := exchange(t, addr, raw)
		if !slices.Equal(got, want) {
			t.Errorf("%.120q:\nh1Server answered\n%s\nnet/http answered\n%s", raw, strings.Join(got, "\n--\n"), strings.Join(want, "\n--\n"))
		}
		if len(want) == 0 && !strings.HasSuffix(raw, "Host: a\r\n") {
			t.Errorf("%.120q: no answer at all", raw)
		}
	}
}

// TestH1Server_TakesPlainRequests: plain requests never reach net/http;
// the first one that is not plain hands the connection over, and its
// requests are still answered.
func TestH1Server_TakesPlainRequests(t *testing.T) {
	addr, h := startH1(t, http.HandlerFunc(echoHandler), nil, nil)
	var raw strings.Builder
	for i := range 50 {
		fmt.Fprintf(&raw, "POST /r%d HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi", i)
	}
	if got := exchange(t, addr, raw.String()); len(got) != 50 {
		t.Fatalf("%d answers to 50 requests", len(got))
	}
	if n := h.handoffs.Load(); n != 0 {
		t.Fatalf("%d connections handed to net/http after plain requests", n)
	}
	big := fmt.Sprintf("POST /big HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n%s", h1MaxBody+1, strings.Repeat("b", h1MaxBody+1))
	got := exchange(t, addr, raw.String()+big)
	if len(got) != 51 || !strings.Contains(got[50], `"path":"/big"`) {
		t.Fatalf("%d answers; last %q", len(got), got[len(got)-1])
	}
	if n := h.handoffs.Load(); n != 1 {
		t.Fatalf("%d hand-offs after a body beyond h1MaxBody, want 1", n)
	}
	got = exchange(t, addr, raw.String()+"GET /old HTTP/1.0\r\nHost: a\r\n\r\n")
	if len(got) != 51 || !strings.Contains(got[50], `"proto":"HTTP/1.0"`) {
		t.Fatalf("%d answers; last %q", len(got), got[len(got)-1])
	}
	if n := h.handoffs.Load(); n != 2 {
		t.Fatalf("%d hand-offs, want 2", n)
	}
}

// TestH1Server_ShutdownWaitsForRequests: shutdown closes idle
// connections at once, lets a request in flight finish with
// "Connection: close", and returns when it has.
func TestH1Server_ShutdownWaitsForRequests(t *testing.T) {
	started, release := make(chan struct{}), make(chan struct{})
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			close(started)
			<-release
		}
		w.Write([]byte("done"))
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := newH1Server(handler, (&Server{}).httpServer(handler), &httpDate{}, slog.New(slog.DiscardHandler), ln.Addr())
	served := make(chan error, 1)
	go func() { served <- h.serve(ln) }()

	idle := dial(t, ln.Addr().String())
	io.WriteString(idle, "GET /fast HTTP/1.1\r\nHost: a\r\n\r\n")
	if resp := readH1Answer(t, idle); resp.StatusCode != 200 {
		t.Fatalf("fast: %d", resp.StatusCode)
	}
	busy := dial(t, ln.Addr().String())
	io.WriteString(busy, "GET /slow HTTP/1.1\r\nHost: a\r\n\r\n")
	<-started

	shut := make(chan error, 1)
	go func() { shut <- h.shutdown(context.Background()) }()
	idle.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := idle.Read(make([]byte, 1)); n != 0 || err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("idle connection: read %d, %v; want it closed", n, err)
	}
	select {
	case err := <-shut:
		t.Fatalf("shutdown returned %v with a request in flight", err)
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	resp := readH1Answer(t, busy)
	if resp.StatusCode != 200 || !resp.Close {
		t.Fatalf("request in flight: %d, close %v", resp.StatusCode, resp.Close)
	}
	if err := <-shut; err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		t.Fatalf("serve: %v", err)
	}
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	return c
}

func readH1Answer(t *testing.T, c net.Conn) *http.Response {
	t.Helper()
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	io.ReadAll(resp.Body)
	return resp
}

// TestH1Server_PanicClosesConnection: a panicking handler costs its
// connection, is logged, and the server goes on.
func TestH1Server_PanicClosesConnection(t *testing.T) {
	var logs syncBuffer
	addr, _ := startH1(t, http.HandlerFunc(echoHandler), nil, slog.New(slog.NewTextHandler(&logs, nil)))
	if got := exchange(t, addr, "GET /panic HTTP/1.1\r\nHost: a\r\n\r\nGET /x HTTP/1.1\r\nHost: a\r\n\r\n"); len(got) != 0 {
		t.Fatalf("answers after a panic: %q", got)
	}
	if !strings.Contains(logs.String(), "test panic") {
		t.Fatalf("panic not logged: %q", logs.String())
	}
	if got := exchange(t, addr, "GET /x HTTP/1.1\r\nHost: a\r\n\r\n"); len(got) != 1 {
		t.Fatalf("%d answers after the panic, want 1", len(got))
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// TestH1Server_HeaderTimeout: a head that stops coming costs its
// connection once ReadHeaderTimeout passes.
func TestH1Server_HeaderTimeout(t *testing.T) {
	addr, _ := startH1(t, http.HandlerFunc(echoHandler), func(s *http.Server) { s.ReadHeaderTimeout = 50 * time.Millisecond }, nil)
	c := dial(t, addr)
	io.WriteString(c, "GET /x HTTP/1.1\r\nHo")
	if n, err := c.Read(make([]byte, 1)); n != 0 || err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read %d, %v; want the connection closed by the server", n, err)
	}
}

// TestH1Server_FlushSendsAnswer: Flush sends what was written with its
// length; a later Write is refused, not sent as a second answer.
func TestH1Server_FlushSendsAnswer(t *testing.T) {
	writeErr := make(chan error, 2)
	addr, _ := startH1(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("first"))
		w.(http.Flusher).Flush()
		_, err := w.Write([]byte("second"))
		writeErr <- err
	}), nil, nil)
	got := exchange(t, addr, "GET /x HTTP/1.1\r\nHost: a\r\n\r\nGET /y HTTP/1.1\r\nHost: a\r\n\r\n")
	if len(got) != 2 || !strings.HasSuffix(got[0], "\nfirst") || !strings.Contains(got[0], "Content-Length: 5") {
		t.Fatalf("answers %q", got)
	}
	if err := <-writeErr; !errors.Is(err, errFlushed) {
		t.Fatalf("write after flush: %v", err)
	}
}

// TestH1Server_WriteFailureClosesConnection: an answer that cannot be
// written costs the connection, so a pipelined request's answer never
// goes out in its place.
func TestH1Server_WriteFailureClosesConnection(t *testing.T) {
	addr, _ := startH1(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			time.Sleep(100 * time.Millisecond)
		}
		w.Write([]byte("answer for " + r.URL.Path))
		w.(http.Flusher).Flush()
	}), func(s *http.Server) { s.WriteTimeout = 20 * time.Millisecond }, nil)
	got := exchange(t, addr, "GET /slow HTTP/1.1\r\nHost: a\r\n\r\nGET /fast HTTP/1.1\r\nHost: a\r\n\r\n")
	for _, a := range got {
		if strings.HasSuffix(a, "answer for /fast") {
			t.Fatalf("answers after a failed write: %q", got)
		}
	}
}

// TestH1Server_Timeouts: a connection that sends nothing is closed after
// the header timeout, not the idle one; zero timeouts mean none.
func TestH1Server_Timeouts(t *testing.T) {
	addr, _ := startH1(t, http.HandlerFunc(echoHandler), func(s *http.Server) {
		s.ReadHeaderTimeout, s.IdleTimeout = 50*time.Millisecond, time.Hour
	}, nil)
	c := dial(t, addr)
	if n, err := c.Read(make([]byte, 1)); n != 0 || err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("silent connection: read %d, %v; want it closed by the server", n, err)
	}
	addr, _ = startH1(t, http.HandlerFunc(echoHandler), func(s *http.Server) {
		s.ReadHeaderTimeout, s.ReadTimeout, s.WriteTimeout, s.IdleTimeout = 0, 0, 0, 0
	}, nil)
	if got := exchange(t, addr, "POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi"); len(got) != 1 || !strings.Contains(got[0], `"body":"hi"`) {
		t.Fatalf("no timeouts: %q", got)
	}
}

// TestH1Server_WatchClient: after watchClient, a request's context ends
// when its client closes the connection, and only then: a pipelined
// request does not end it, and is answered after.
func TestH1Server_WatchClient(t *testing.T) {
	gone := make(chan string, 4)
	addr, _ := startH1(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		watchClient(r)
		wait := 300 * time.Millisecond
		if r.URL.Path == "/leave" {
			wait = 10 * time.Second
		}
		select {
		case <-r.Context().Done():
			gone <- r.URL.Path
		case <-time.After(wait):
		}
		w.Write([]byte("stayed"))
	}), nil, nil)

	c := dial(t, addr)
	io.WriteString(c, "POST /leave HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\nx")
	time.Sleep(20 * time.Millisecond)
	c.Close()
	select {
	case p := <-gone:
		if p != "/leave" {
			t.Fatalf("context of %s ended", p)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the request's context did not end when its client left")
	}

	c = dial(t, addr)
	io.WriteString(c, "GET /a HTTP/1.1\r\nHost: a\r\n\r\nGET /b HTTP/1.1\r\nHost: a\r\n\r\n")
	br := bufio.NewReader(c)
	for _, p := range []string{"/a", "/b"} {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if body, _ := io.ReadAll(resp.Body); string(body) != "stayed" {
			t.Fatalf("%s: %q", p, body)
		}
	}
	select {
	case p := <-gone:
		t.Fatalf("context of %s ended with its client still there", p)
	default:
	}
}

// TestH1Server_WatchOutlastsReadTimeout: the watch goes on past the
// request's ReadTimeout, as net/http's background read does.
func TestH1Server_WatchOutlastsReadTimeout(t *testing.T) {
	gone := make(chan bool, 1)
	addr, _ := startH1(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		watchClient(r)
		select {
		case <-r.Context().Done():
			gone <- true
		case <-time.After(5 * time.Second):
			gone <- false
		}
	}), func(s *http.Server) { s.ReadTimeout = 50 * time.Millisecond }, nil)
	c := dial(t, addr)
	io.WriteString(c, "GET /x HTTP/1.1\r\nHost: a\r\n\r\n")
	time.Sleep(200 * time.Millisecond) // past ReadTimeout
	c.Close()
	if !<-gone {
		t.Fatal("the client left after ReadTimeout and the request's context did not end")
	}
}

// TestH1Server_BodyClosedAfterHandler: a body kept past its handler
// reads nothing, not the next request's body.
func TestH1Server_BodyClosedAfterHandler(t *testing.T) {
	var kept io.Reader
	read := make(chan string, 1)
	addr, _ := startH1(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/keep" {
			kept = r.Body
			return
		}
		b, err := io.ReadAll(kept)
		read <- fmt.Sprintf("%q %v", b, err)
	}), nil, nil)
	exchange(t, addr, "POST /keep HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nold"+
		"POST /next HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\n\r\nSECRET")
	if got, want := <-read, `"" `+http.ErrBodyReadAfterClose.Error(); got != want {
		t.Fatalf("the kept body read %s, want %s", got, want)
	}
}

// TestH1Server_NextRequestStartsClean: the connection's request is reused,
// and nothing a handler set on it reaches the next one.
func TestH1Server_NextRequestStartsClean(t *testing.T) {
	var first *http.Request
	seen := make(chan string, 1)
	addr, _ := startH1(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/dirty" {
			first = r
			r.Form, r.Pattern, r.URL.RawQuery = url.Values{"x": {"1"}}, "POST /dirty", "x=1"
			r.Trailer = http.Header{"T": {"1"}}
			return
		}
		seen <- fmt.Sprintf("same=%v %s %s form=%v pattern=%q query=%q trailer=%v body=%v length=%d",
			r == first, r.Method, r.URL.Path, r.Form, r.Pattern, r.URL.RawQuery, r.Trailer, r.Body == http.NoBody, r.ContentLength)
	}), nil, nil)
	exchange(t, addr, "POST /dirty HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nold"+
		"GET /clean HTTP/1.1\r\nHost: a\r\n\r\n")
	want := `same=true GET /clean form=map[] pattern="" query="" trailer=map[] body=true length=0`
	if got := <-seen; got != want {
		t.Fatalf("the next request saw %s, want %s", got, want)
	}
}

// TestH1Server_BodyLimitKeepsConnection: a body past an
// http.MaxBytesReader limit gets the handler's 413, and, unlike net/http
// (which cannot know where such a body ends), the connection goes on: the
// whole body was read before the handler ran.
func TestH1Server_BodyLimitKeepsConnection(t *testing.T) {
	addr, _ := startH1(t, http.HandlerFunc(echoHandler), nil, nil)
	got := exchange(t, addr, "POST /limited HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nabcdeGET /x HTTP/1.1\r\nHost: a\r\n\r\n")
	if len(got) != 2 || !strings.HasPrefix(got[0], "413 ") || !strings.Contains(got[1], `"path":"/x"`) {
		t.Fatalf("answers %q", got)
	}
}

// TestH1Body_Take: take hands over a whole, unread body within the limit,
// and nothing else, leaving the body as it was when it refuses.
func TestH1Body_Take(t *testing.T) {
	body := func(s string, err error) *h1Body { return &h1Body{b: []byte(s), err: err} }
	if b, ok := body("abc", io.EOF).take(3); !ok || string(b) != "abc" {
		t.Fatalf("whole body: %q %v", b, ok)
	}
	b := body("abc", io.EOF)
	b.take(3)
	if got, err := io.ReadAll(b); len(got) != 0 || err != nil {
		t.Fatalf("read after take: %q %v", got, err)
	}
	if _, ok := b.take(3); ok {
		t.Fatal("taken twice")
	}
	for name, b := range map[string]*h1Body{
		"over the limit": body("abcd", io.EOF),
		"cut short":      body("ab", io.ErrUnexpectedEOF),
		"closed":         {b: []byte("abc"), err: io.EOF, closed: true},
	} {
		before := string(b.b)
		if _, ok := b.take(3); ok || string(b.b) != before {
			t.Errorf("%s: taken (%v) or changed (%q)", name, ok, b.b)
		}
	}
	b = body("abc", io.EOF)
	p := make([]byte, 1)
	b.Read(p)
	if _, ok := b.take(3); ok {
		t.Fatal("a body partly read was taken")
	}
	if rest, _ := io.ReadAll(b); string(rest) != "bc" {
		t.Fatalf("the rest after a refused take: %q", rest)
	}
}
