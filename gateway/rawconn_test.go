package gateway

import (
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// rawPair returns a raw connection and its loopback peer.
func rawPair(t *testing.T) (net.Conn, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	peer := <-accepted
	if peer == nil {
		t.Fatal("accept failed")
	}
	rc := newRawConn(c)
	if rc == c && runtime.GOOS == "linux" {
		t.Fatal("newRawConn did not wrap a TCP connection on linux")
	}
	t.Cleanup(func() { rc.Close(); peer.Close() })
	return rc, peer
}

// A request sent from within the read of its answer arrives whole, also
// when it is larger than the socket buffers (the rest is written the
// plain way), and the answer is read; a peer that has closed makes the
// read fail at once (the request draws a reset) rather than wait.
func TestRawConn_SendOnRead(t *testing.T) {
	for _, size := range []int{100, 4 << 20} {
		c, peer := rawPair(t)
		rs, ok := c.(readSender)
		if !ok {
			t.Skip("no raw connections on " + runtime.GOOS)
		}
		req := bytes.Repeat([]byte("r"), size)
		got := make(chan int, 1)
		go func() {
			n, _ := io.ReadFull(peer, make([]byte, size))
			got <- n
			_, _ = peer.Write([]byte("answer"))
		}()
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		rs.sendOnRead(req)
		buf := make([]byte, 64)
		n, err := io.ReadAtLeast(c, buf, len("answer"))
		if err != nil || string(buf[:n]) != "answer" {
			t.Fatalf("%d-byte request: read %q, %v", size, buf[:n], err)
		}
		if n := <-got; n != size {
			t.Fatalf("the peer received %d bytes of %d", n, size)
		}
	}

	c, peer := rawPair(t)
	rs, ok := c.(readSender)
	if !ok {
		t.Skip("no raw connections on " + runtime.GOOS)
	}
	peer.Close()
	time.Sleep(20 * time.Millisecond) // the close arrives and its readiness is forgotten by the read
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	rs.sendOnRead([]byte("POST / HTTP/1.1\r\n\r\n"))
	start := time.Now()
	_, err := c.Read(make([]byte, 64))
	if err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read from a closed peer: %v after %s", err, time.Since(start))
	}
}

// A write larger than the socket buffers waits for room; reads get
// everything the peer sent, then io.EOF.
func TestRawConn_LargeTransfersAndEOF(t *testing.T) {
	c, peer := rawPair(t)
	out := bytes.Repeat([]byte("0123456789abcdef"), 1<<18) // 4 MiB
	got := make(chan []byte, 1)
	go func() {
		b, _ := io.ReadAll(peer)
		got <- b
	}()
	if n, err := c.Write(out); err != nil || n != len(out) {
		t.Fatalf("write: %d %v", n, err)
	}
	if err := c.(interface{ CloseWrite() error }).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	if b := <-got; !bytes.Equal(b, out) {
		t.Fatalf("the peer read %d bytes, want %d", len(b), len(out))
	}
	go func() {
		_, _ = peer.Write(out)
		peer.Close()
	}()
	b, err := io.ReadAll(c)
	if err != nil || !bytes.Equal(b, out) {
		t.Fatalf("read %d bytes, %v; want %d", len(b), err, len(out))
	}
	if n, err := c.Read(make([]byte, 10)); n != 0 || err != io.EOF {
		t.Fatalf("read after EOF: %d %v", n, err)
	}
}

// Deadlines and Close interrupt a waiting Read with net's errors.
func TestRawConn_DeadlineAndClose(t *testing.T) {
	c, _ := rawPair(t)
	if err := c.SetReadDeadline(time.Now().Add(30 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	_, err := c.Read(make([]byte, 10))
	var ne net.Error
	if !errors.Is(err, os.ErrDeadlineExceeded) || !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("read past the deadline: %v", err)
	}
	_ = c.SetReadDeadline(time.Time{})
	done := make(chan error, 1)
	go func() {
		_, err := c.Read(make([]byte, 10))
		done <- err
	}()
	time.Sleep(20 * time.Millisecond)
	c.Close()
	if err := <-done; !errors.Is(err, net.ErrClosed) {
		t.Fatalf("read interrupted by Close: %v", err)
	}
}

// Reads and writes may run at once, as net/http's background read does
// while the handler writes; writing to a reset connection is an error,
// not a SIGPIPE.
func TestRawConn_ConcurrentReadWriteAndReset(t *testing.T) {
	c, peer := rawPair(t)
	read := make(chan string, 1)
	go func() {
		b := make([]byte, 5)
		n, err := io.ReadFull(c, b)
		if err != nil {
			read <- err.Error()
			return
		}
		read <- string(b[:n])
	}()
	echoed := make(chan error, 1)
	go func() {
		b := make([]byte, 5)
		_, err := io.ReadFull(peer, b)
		if err == nil {
			_, err = peer.Write(b)
		}
		echoed <- err
	}()
	if _, err := c.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	if err := <-echoed; err != nil {
		t.Fatal(err)
	}
	if s := <-read; s != "hello" {
		t.Fatalf("read %q", s)
	}
	_ = peer.(*net.TCPConn).SetLinger(0) // close with a reset
	peer.Close()
	time.Sleep(20 * time.Millisecond)
	var err error
	for range 3 {
		if _, err = c.Write([]byte("x")); err != nil {
			break
		}
	}
	if err == nil {
		t.Fatal("writes to a reset connection succeeded")
	}
}

// net/http serves through rawListener's connections as through the
// listener's own: kept-alive requests with bodies (the background read
// then runs beside the handler's writes) and a client going away.
func TestRawListener_ServesHTTP(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Length", strconv.Itoa(len(b)))
		_, _ = w.Write(b)
	})}
	go func() { _ = srv.Serve(rawListener{ln}) }()
	t.Cleanup(func() { srv.Close() })
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
	t.Cleanup(client.CloseIdleConnections)
	conns := map[string]bool{}
	for i := range 50 {
		body := strings.Repeat("x", i*1000)
		req, _ := http.NewRequest(http.MethodPost, "http://"+ln.Addr().String(), strings.NewReader(body))
		req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
			GotConn: func(ci httptrace.GotConnInfo) { conns[ci.Conn.LocalAddr().String()] = true },
		}))
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || string(b) != body {
			t.Fatalf("request %d: %d bytes back, %v", i, len(b), err)
		}
	}
	if len(conns) != 1 {
		t.Fatalf("50 requests used %d connections, want 1 kept alive", len(conns))
	}
}
