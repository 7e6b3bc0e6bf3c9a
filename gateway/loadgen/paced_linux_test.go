package loadgen

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// loopTarget serves h on loopback and returns an open loop aimed at it.
func loopTarget(t *testing.T, h http.HandlerFunc, rate float64) *Paced {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	addr := netip.MustParseAddrPort(strings.TrimPrefix(srv.URL, "http://"))
	return &Paced{Addr: addr, Rate: rate, Conns: 8, Warmup: 100 * time.Millisecond, Duration: 500 * time.Millisecond,
		Requests: httpRequests(addr.String(), "/p", [][]byte{[]byte(`{"a":1}`), []byte(`{"b":22}`)})}
}

// Requests leave on schedule, not all at once: at 2000/s for 0.6 s the
// server sees 1200, spread over most of that time.
func TestPaced_Paces(t *testing.T) {
	var mu sync.Mutex
	var arrivals []time.Time
	var bodies atomic.Int64
	o := loopTarget(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		arrivals = append(arrivals, time.Now())
		mu.Unlock()
		if r.ContentLength == 7 || r.ContentLength == 8 {
			bodies.Add(1)
		}
		_, _ = w.Write([]byte(`{"predictions":[1]}`))
	}, 2000)
	res, err := o.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res.Sent != 1000 || res.Answered != 1000 || res.AllAnswered != 1200 || res.Status+res.Errors+res.Lost != 0 {
		t.Fatalf("result %+v, want 1000 measured of 1200 answered, no errors", res)
	}
	if res.P50US <= 0 || res.P90US < res.P50US || res.P99US < res.P90US || res.MaxUS < res.P99US || res.MaxBusy < 1 || res.MaxBusy > 8 {
		t.Fatalf("result %+v: latencies or busy connections out of range", res)
	}
	if bodies.Load() != 1200 {
		t.Fatalf("%d requests carried a whole body, want 1200", bodies.Load())
	}
	if span := arrivals[len(arrivals)-1].Sub(arrivals[0]); span < 500*time.Millisecond {
		t.Fatalf("1200 requests arrived within %s; paced at 2000/s they take 600 ms", span)
	}
}

// Non-2xx answers are counted, and a connection whose answer said
// Connection: close is replaced at once, without counting an error, even
// while the server has not closed it yet.
func TestPaced_StatusAndClose(t *testing.T) {
	var n atomic.Int64
	o := loopTarget(t, func(w http.ResponseWriter, r *http.Request) {
		i := n.Add(1)
		status := http.StatusOK
		if i%5 == 0 {
			status = http.StatusServiceUnavailable
		}
		if i%7 != 0 {
			w.WriteHeader(status)
			_, _ = w.Write([]byte("{}"))
			return
		}
		c, buf, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		fmt.Fprintf(buf, "HTTP/1.1 %d x\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}", status)
		_ = buf.Flush()
		time.Sleep(20 * time.Millisecond) // the next request is due long before the close
		c.Close()
	}, 1000)
	res, err := o.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// 600 requests, the 100 of the warmup first: every 5th of the last 500
	if res.Sent != 500 || res.Answered != 500 || res.Status != 100 || res.Errors != 0 || res.Lost != 0 {
		t.Fatalf("result %+v, want 500 answered, 100 of them 503, no errors", res)
	}
}

// A request whose connection breaks before its answer is an error, and the
// run goes on on a new connection.
func TestPaced_BrokenConnection(t *testing.T) {
	var n atomic.Int64
	o := loopTarget(t, func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1)%10 == 0 {
			c, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				c.(*net.TCPConn).SetLinger(0)
				c.Close()
			}
			return
		}
		_, _ = w.Write([]byte("{}"))
	}, 1000)
	res, err := o.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res.Errors != 50 || res.Answered != 450 || res.Lost != 0 {
		t.Fatalf("result %+v, want 50 errors and 450 answers of 500", res)
	}
}

func TestParseHead(t *testing.T) {
	n, closing, err := parseHead([]byte("HTTP/1.1 200 OK\r\ncontent-length:  12 \r\nConnection: Close"))
	if n != 12 || !closing || err != nil {
		t.Fatalf("got %d %v %v", n, closing, err)
	}
	for _, head := range []string{"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked", "HTTP/1.1 200 OK\r\nContent-Length: -1"} {
		if _, _, err := parseHead([]byte(head)); err == nil {
			t.Fatalf("%q parsed", head)
		}
	}
}

func TestLoopbackAddr(t *testing.T) {
	addr, path, err := loopbackAddr("http://127.0.0.1:8080/v1/models/m:predict?x=1")
	if err != nil || addr.Port() != 8080 || path != "/v1/models/m:predict?x=1" {
		t.Fatalf("got %v %q %v", addr, path, err)
	}
	for _, u := range []string{"https://127.0.0.1:1/", "http://10.0.0.1:80/", "http://localhost:80/", "http://[::1]:80/"} {
		if _, _, err := loopbackAddr(u); err == nil {
			t.Fatalf("%s accepted", u)
		}
	}
}
