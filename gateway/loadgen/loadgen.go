package loadgen

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sort"
	"sync"
	"time"
)

// Options describe one run.
type Options struct {
	// URL is the target; its host must be a loopback address or localhost.
	URL string
	// Method defaults to POST.
	Method string
	// Rate is the number of requests per second to send. Required, > 0.
	Rate float64
	// Duration is how long to send; Rate*Duration requests are scheduled.
	// Required, > 0.
	Duration time.Duration
	// Concurrency bounds the requests in flight; a request scheduled while
	// Concurrency are in flight is dropped. Default 64.
	Concurrency int
	// Body returns the body of request i; nil sends none.
	Body func(i int) []byte
	// Header returns extra headers of request i; nil sends none.
	Header func(i int) http.Header
	// Client sends the requests. Default: a client with a 10 s timeout that
	// keeps Concurrency idle connections.
	Client *http.Client
}

// Result summarises a run. Latencies run from the scheduled send time to
// the end of the answer, so falling behind schedule shows as latency.
type Result struct {
	Sent    int // requests sent
	OK      int // answered 2xx
	Errors  int // answered otherwise, or failed in transport
	Dropped int // scheduled but not sent: Concurrency requests were in flight

	P50, P90, P99, Max time.Duration

	Elapsed time.Duration // from the first scheduled send to the last answer
	Rate    float64       // achieved: answered requests per second of Elapsed
}

// Run sends the load and waits for every answer. When ctx ends early it
// stops sending and returns what it measured with ctx's error.
func Run(ctx context.Context, o Options) (Result, error) {
	if err := o.validate(); err != nil {
		return Result{}, err
	}
	o, owned := o.withDefaults()
	if owned {
		defer o.Client.CloseIdleConnections()
	}
	n := int(o.Rate * o.Duration.Seconds())
	rec := &recorder{latencies: make([]time.Duration, 0, n)}
	sem := make(chan struct{}, o.Concurrency)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range n {
		at := start.Add(time.Duration(float64(i) / o.Rate * float64(time.Second)))
		if !sleepUntil(ctx, at) {
			break
		}
		select {
		case sem <- struct{}{}:
		default:
			rec.drop()
			continue
		}
		wg.Go(func() {
			defer func() { <-sem }()
			ok := send(ctx, o, i)
			rec.record(ok, time.Since(at))
		})
	}
	wg.Wait()
	return rec.result(time.Since(start)), ctx.Err()
}

func (o Options) validate() error {
	u, err := url.Parse(o.URL)
	if err != nil || u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("loadgen: URL %q is not an http(s) URL", o.URL)
	}
	if !isLoopback(u.Hostname()) {
		return fmt.Errorf("loadgen: URL %q is not a loopback address; loadgen only targets the local gateway", o.URL)
	}
	if o.Rate <= 0 || o.Duration <= 0 {
		return fmt.Errorf("loadgen: Rate (%v/s) and Duration (%v) must be positive", o.Rate, o.Duration)
	}
	if o.Concurrency < 0 {
		return fmt.Errorf("loadgen: Concurrency must not be negative, not %d", o.Concurrency)
	}
	return nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// withDefaults fills in defaults; owned reports a client made here.
func (o Options) withDefaults() (_ Options, owned bool) {
	if o.Method == "" {
		o.Method = http.MethodPost
	}
	if o.Concurrency == 0 {
		o.Concurrency = 64
	}
	if o.Client == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.Proxy = nil // loopback only
		tr.MaxIdleConns, tr.MaxIdleConnsPerHost = o.Concurrency, o.Concurrency
		o.Client = &http.Client{Timeout: 10 * time.Second, Transport: tr}
		owned = true
	}
	return o, owned
}

// sleepUntil waits until t; false when ctx ended first.
func sleepUntil(ctx context.Context, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err() == nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-timer.C:
		return true
	}
}

// send sends request i and reports whether it was answered 2xx.
func send(ctx context.Context, o Options, i int) bool {
	var body io.Reader
	if o.Body != nil {
		body = bytes.NewReader(o.Body(i))
	}
	req, err := http.NewRequestWithContext(ctx, o.Method, o.URL, body)
	if err != nil {
		return false
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if o.Header != nil {
		for k, vs := range o.Header(i) {
			req.Header[k] = vs
		}
	}
	resp, err := o.Client.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	_, err = io.Copy(io.Discard, resp.Body) // lets the connection be reused
	return err == nil && resp.StatusCode/100 == 2
}

// recorder collects outcomes from concurrent senders.
type recorder struct {
	mu        sync.Mutex
	ok, errs  int
	dropped   int
	latencies []time.Duration
}

func (r *recorder) drop() {
	r.mu.Lock()
	r.dropped++
	r.mu.Unlock()
}

func (r *recorder) record(ok bool, latency time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if ok {
		r.ok++
	} else {
		r.errs++
	}
	r.latencies = append(r.latencies, latency)
}

func (r *recorder) result(elapsed time.Duration) Result {
	r.mu.Lock()
	defer r.mu.Unlock()
	res := Result{Sent: r.ok + r.errs, OK: r.ok, Errors: r.errs, Dropped: r.dropped, Elapsed: elapsed}
	if elapsed > 0 {
		res.Rate = float64(res.Sent) / elapsed.Seconds()
	}
	lat := r.latencies
	if len(lat) == 0 {
		return res
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	rank := func(q float64) time.Duration { return lat[int(q*float64(len(lat)-1))] }
	res.P50, res.P90, res.P99, res.Max = rank(0.50), rank(0.90), rank(0.99), lat[len(lat)-1]
	return res
}
