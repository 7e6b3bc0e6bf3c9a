package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/gateway"
	"github.com/modelgate/modelgate/gateway/loadgen"
	"github.com/modelgate/modelgate/mlmodel"
)

// startGateway serves the gateway on a free loopback port and deploys the
// example model; stop shuts both down.
func startGateway(ctx context.Context, o options) (base string, stop func(), err error) {
	srv := gateway.NewServer(gateway.Options{
		Loader: func(dir string) (gateway.Model, error) { return mlmodel.Load(dir) },
	})
	if err := srv.Open(); err != nil {
		return "", nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		srv.Close()
		return "", nil, fmt.Errorf("listen on loopback: %w", err)
	}
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = hs.Serve(ln) }()
	stop = func() { _ = hs.Close(); _ = srv.Close() }
	base = "http://" + ln.Addr().String()
	if err := deploy(ctx, gateway.NewDeployer(base, newClient(1)), o); err != nil {
		stop()
		return "", nil, err
	}
	return base, stop, nil
}

// deploy serves v2 as stable, or v1 as stable with v2 as a 10% canary.
func deploy(ctx context.Context, d *gateway.Deployer, o options) error {
	stable, canary := "2", ""
	if o.canary {
		stable, canary = "1", "2"
	}
	dep, err := deployment(o.example, stable)
	if err == nil {
		err = d.SetStable(ctx, dep)
	}
	if err != nil || canary == "" {
		return err
	}
	if dep, err = deployment(o.example, canary); err != nil {
		return err
	}
	return d.StartCanary(ctx, dep, 10)
}

// deployment names an example version, loaded from its directory.
func deployment(example, version string) (modelgate.Deployment, error) {
	dir, err := filepath.Abs(filepath.Join(example, "models", "v"+version))
	digest := ""
	if err == nil {
		digest, err = modelgate.DirDigest(dir)
	}
	if err != nil {
		return modelgate.Deployment{}, fmt.Errorf("digest example version %s: %w", version, err)
	}
	return modelgate.Deployment{Model: model, Version: version, ModelDir: dir, Digest: digest}, nil
}

// openLoop offers rate requests/s with loadgen.Paced (a warm-up at the
// same rate, then the measured run): each request leaves at its due time
// to the microsecond, on connections opened up front, and its latency
// counts from that time.
func openLoop(ctx context.Context, o options, url string, bodies [][]byte, rate float64) (row, error) {
	if !loadgen.PacedSupported {
		return timerLoop(ctx, o, url, bodies, rate)
	}
	p, err := loadgen.PacedPosts(url, bodies)
	if err != nil {
		return row{}, err
	}
	p.Rate, p.Conns, p.Warmup, p.Duration = rate, o.concurrency, o.warmup, o.duration
	res, err := p.Run(ctx)
	us := func(v int64) float64 { return float64(v) / 1000 }
	return row{Mode: "open", Offered: rate, Concurrency: o.concurrency, Achieved: float64(res.Answered) / o.duration.Seconds(),
		Sent: int(res.Sent), OK: int(res.Answered - res.Status), Errors: int(res.Status + res.Errors + res.Lost), Waited: int(res.Waited),
		P50: us(res.P50US), P90: us(res.P90US), P99: us(res.P99US), Max: us(res.MaxUS)}, err
}

// timerLoop is openLoop where Paced does not run (not Linux): loadgen.Run,
// whose millisecond timers add up to a millisecond to every latency, and
// which drops a request due while all connections are busy (counted as
// waited).
func timerLoop(ctx context.Context, o options, url string, bodies [][]byte, rate float64) (row, error) {
	lo := loadgen.Options{URL: url, Rate: rate, Concurrency: o.concurrency, Duration: o.warmup,
		Body: func(i int) []byte { return bodies[i%len(bodies)] }}
	if o.warmup > 0 {
		if _, err := loadgen.Run(ctx, lo); err != nil {
			return row{}, err
		}
	}
	lo.Duration = o.duration
	res, err := loadgen.Run(ctx, lo)
	return row{Mode: "open", Offered: rate, Concurrency: o.concurrency, Achieved: res.Rate,
		Sent: res.Sent, OK: res.OK, Errors: res.Errors, Waited: res.Dropped,
		P50: ms(res.P50), P90: ms(res.P90), P99: ms(res.P99), Max: ms(res.Max)}, err
}

// closedLoop has n clients send back to back for d: the most the gateway
// answers while sharing the CPUs with its clients.
func closedLoop(ctx context.Context, n int, d time.Duration, url string, bodies [][]byte) row {
	client := newClient(n)
	defer client.CloseIdleConnections()
	r := row{Mode: "closed", Concurrency: n}
	var (
		mu   sync.Mutex // guards r and lat
		lat  []time.Duration
		next atomic.Int64
		wg   sync.WaitGroup
	)
	start := time.Now()
	for range n {
		wg.Go(func() {
			for ctx.Err() == nil && time.Since(start) < d {
				t0 := time.Now()
				err := post(ctx, client, url, bodies[int(next.Add(1))%len(bodies)])
				mu.Lock()
				lat = append(lat, time.Since(t0))
				if err == nil {
					r.OK++
				} else {
					r.Errors++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	r.Sent = r.OK + r.Errors
	r.Achieved = float64(r.Sent) / time.Since(start).Seconds()
	if len(lat) > 0 {
		slices.Sort(lat)
		rank := func(q float64) float64 { return ms(lat[int(q*float64(len(lat)-1))]) }
		r.P50, r.P90, r.P99, r.Max = rank(0.50), rank(0.90), rank(0.99), ms(lat[len(lat)-1])
	}
	return r
}

// post sends one predict request; an error for anything but a 2xx answer.
func post(ctx context.Context, c *http.Client, url string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode/100 != 2 {
		err = fmt.Errorf("%s: %s", resp.Status, b)
	}
	return err
}

// newClient keeps n idle loopback connections and uses no proxy.
func newClient(n int) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil
	tr.MaxIdleConns, tr.MaxIdleConnsPerHost = n, n
	return &http.Client{Timeout: 10 * time.Second, Transport: tr}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
