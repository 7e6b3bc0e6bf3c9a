package main

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// lineWriter hands the loop's ready line to the test.
type lineWriter struct{ lines chan string }

func (w lineWriter) Write(p []byte) (int, error) { w.lines <- string(p); return len(p), nil }

func startLoop(t *testing.T, stable, canary string, percent int, spin time.Duration) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	w := lineWriter{lines: make(chan string, 1)}
	go func() {
		done <- runLoop(ctx, proxyOptions{listen: "127.0.0.1:0", stable: stable, canary: canary, percent: percent, spin: spin}, w)
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != context.Canceled {
			t.Errorf("loop ended with %v, want context.Canceled", err)
		}
	})
	select {
	case line := <-w.lines:
		return "http://" + strings.TrimSpace(strings.TrimPrefix(line, "ready "))
	case err := <-done:
		t.Fatalf("loop did not start: %v", err)
	case <-time.After(5 * time.Second):
		t.Fatal("loop printed no ready line")
	}
	return ""
}

func counting(n *atomic.Int64, answer string) *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		n.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, answer+string(body))
	}))
}

// The forwarder splits by count, keeps connections alive and passes
// bodies both ways unchanged, whether it sleeps between events or spins.
func TestLoop_Splits(t *testing.T) {
	t.Run("sleeps", func(t *testing.T) { testLoopSplits(t, 0) })
	t.Run("spins", func(t *testing.T) { testLoopSplits(t, 5*time.Millisecond) })
}

func testLoopSplits(t *testing.T, spin time.Duration) {
	var stableN, canaryN atomic.Int64
	stable, canary := counting(&stableN, "stable:"), counting(&canaryN, "canary:")
	defer stable.Close()
	defer canary.Close()
	base := startLoop(t, stable.URL, canary.URL, 10, spin)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	for i := range 200 {
		resp, err := client.Post(base+"/v1/models/m:predict", "application/json", strings.NewReader(`{"i":`+string(rune('0'+i%10))+`}`))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.HasSuffix(string(body), `{"i":`+string(rune('0'+i%10))+`}`) {
			t.Fatalf("request %d: %d %q", i, resp.StatusCode, body)
		}
	}
	if stableN.Load() != 180 || canaryN.Load() != 20 {
		t.Errorf("stable %d, canary %d requests, want 180 and 20", stableN.Load(), canaryN.Load())
	}
}

// An upstream that closes without answering costs its client a 502, and
// the forwarder goes on serving.
func TestLoop_UpstreamGone(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_, _ = bufio.NewReader(c).ReadString('\n')
			c.Close()
		}
	}()
	var n atomic.Int64
	good := counting(&n, "ok")
	defer good.Close()
	base := startLoop(t, "http://"+ln.Addr().String(), good.URL, 50, 0)
	codes := map[int]int{}
	for range 4 {
		resp, err := http.Post(base+"/", "text/plain", strings.NewReader("x"))
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		codes[resp.StatusCode]++
	}
	if codes[502] != 2 || codes[200] != 2 {
		t.Errorf("answers %v, want two 502 (the closing upstream) and two 200", codes)
	}
}

func TestMessageLen(t *testing.T) {
	for _, c := range []struct {
		in string
		n  int
		ok bool
	}{
		{"POST / HTTP/1.1\r\nContent-Length: 2\r\n\r\nab", 40, true},
		{"POST / HTTP/1.1\r\ncontent-length: 2\r\n\r\na", 0, true},
		{"GET / HTTP/1.1\r\nHost: x\r\n\r\nGET", 27, true},
		{"POST / HTTP/1.1\r\nContent-Len", 0, true},
		{"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 0, false},
		{"POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 0, false},
	} {
		n, ok := messageLen([]byte(c.in))
		if n != c.n || ok != c.ok {
			t.Errorf("messageLen(%q) = %d, %v; want %d, %v", c.in, n, ok, c.n, c.ok)
		}
	}
}
