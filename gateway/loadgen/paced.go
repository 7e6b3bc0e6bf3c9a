package loadgen

import (
	"errors"
	"fmt"
	"net/netip"
	neturl "net/url"
	"time"
)

// Paced sends requests at a fixed rate whether or not earlier ones have
// answered, and times each from the moment it was due, not the moment it
// left, so a slow answer cannot hide the requests that queued behind it.
// wrk cannot pace (its delay() sleeps whole milliseconds) and Go's timers
// wake at millisecond steps too (the runtime's poller waits in whole
// milliseconds), which at 10k req/s sends bursts of ten; so the loop is
// written against the kernel directly: one locked thread, one epoll set, a
// timerfd armed for the next due request (microsecond precision), plain
// non-blocking sockets.
type Paced struct {
	Addr     netip.AddrPort // an IPv4 loopback address
	Requests [][]byte       // whole HTTP/1.1 requests, sent in turn
	Rate     float64        // requests per second
	Conns    int            // connections opened up front; a request waits for a free one
	Warmup   time.Duration  // at the same rate, not measured
	Duration time.Duration  // measured, after the warmup
}

// PacedResult is what one paced run measured (its requests due after
// the warmup).
type PacedResult struct {
	Rate     float64 `json:"rate"`
	Sent     int64   `json:"sent"`
	Answered int64   `json:"answered"`
	// AllAnswered counts the warmup's answers too: CPU is sampled
	// around the whole run
	AllAnswered int64 `json:"all_answered"`
	Status      int64 `json:"status"`   // answers that were not 2xx
	Errors      int64 `json:"errors"`   // connections closed or broken mid-request
	Lost        int64 `json:"lost"`     // sent but not answered by the run's end
	Waited      int64 `json:"waited"`   // requests that found no free connection when due
	P50US       int64 `json:"p50_us"`   // from the moment due to the whole answer read
	P90US       int64 `json:"p90_us"`   //
	P99US       int64 `json:"p99_us"`   //
	MaxUS       int64 `json:"max_us"`   //
	MaxBusy     int   `json:"max_busy"` // most connections in use at once
}

// PacedPosts is a Paced run that posts bodies (JSON, in turn) to url, an
// http URL on an IPv4 loopback address; the caller sets its rate,
// connections and durations.
func PacedPosts(url string, bodies [][]byte) (Paced, error) {
	addr, path, err := loopbackAddr(url)
	if err != nil {
		return Paced{}, err
	}
	return Paced{Addr: addr, Requests: httpRequests(addr.String(), path, bodies)}, nil
}

// loopbackAddr splits an http URL on an IPv4 loopback address into the
// address and the request target.
func loopbackAddr(raw string) (netip.AddrPort, string, error) {
	u, err := neturl.Parse(raw)
	if err != nil || u.Scheme != "http" {
		return netip.AddrPort{}, "", fmt.Errorf("%q: want http://127.0.0.1:PORT/PATH", raw)
	}
	addr, err := netip.ParseAddrPort(u.Host)
	if err != nil || !addr.Addr().Is4() || !addr.Addr().IsLoopback() {
		return netip.AddrPort{}, "", errors.New("load is sent only to an IPv4 loopback address and port, such as http://127.0.0.1:8080/")
	}
	return addr, u.RequestURI(), nil
}

// httpRequests are whole HTTP/1.1 JSON POSTs of bodies, as wrk sends them.
func httpRequests(host, path string, bodies [][]byte) [][]byte {
	reqs := make([][]byte, len(bodies))
	for i, body := range bodies {
		reqs[i] = fmt.Appendf(nil, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
			path, host, len(body), body)
	}
	return reqs
}
