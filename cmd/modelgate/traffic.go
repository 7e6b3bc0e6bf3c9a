package main

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/gateway/loadgen"
	"github.com/modelgate/modelgate/inference"
)

// trafficDriver sends live requests to production at a fixed rate, one
// example row per request, cycling through the rows.
type trafficDriver struct {
	cancel       context.CancelFunc
	wg           sync.WaitGroup
	sent, failed atomic.Int64
	once         sync.Once
}

func startTraffic(ctx context.Context, base, model, rowsPath string, rate float64) (*trafficDriver, error) {
	bodies, err := liveBodies(rowsPath)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	t := &trafficDriver{cancel: cancel}
	jobs := make(chan []byte)
	client := inference.Client{HTTP: &http.Client{Timeout: 5 * time.Second}}
	ep := modelgate.Endpoint{URL: "http://" + base, Name: model}
	for range 8 {
		t.wg.Add(1)
		go t.worker(ctx, client, ep, jobs)
	}
	t.wg.Add(1)
	go t.tick(ctx, bodies, rate, jobs)
	return t, nil
}

func (t *trafficDriver) tick(ctx context.Context, bodies [][]byte, rate float64, jobs chan<- []byte) {
	defer t.wg.Done()
	defer close(jobs)
	tk := time.NewTicker(time.Duration(float64(time.Second) / rate))
	defer tk.Stop()
	for i := 0; ; i++ {
		select {
		case <-ctx.Done():
			return
		case <-tk.C:
		}
		select {
		case jobs <- bodies[i%len(bodies)]:
		default: // every worker is busy: drop rather than queue, to keep the rate honest
		}
	}
}

func (t *trafficDriver) worker(ctx context.Context, c inference.Client, ep modelgate.Endpoint, jobs <-chan []byte) {
	defer t.wg.Done()
	for body := range jobs {
		res, err := c.PredictRaw(ctx, ep, body)
		if ctx.Err() != nil {
			return // stopped mid-request: neither sent nor failed
		}
		t.sent.Add(1)
		if err != nil || res.Status != http.StatusOK {
			t.failed.Add(1)
		}
	}
}

// stop ends the traffic and returns how many requests were sent and failed.
func (t *trafficDriver) stop() (int64, int64) {
	t.once.Do(func() {
		t.cancel()
		t.wg.Wait()
	})
	return t.sent.Load(), t.failed.Load()
}

// liveBodies turns CSV request rows into V1 bodies.
func liveBodies(path string) ([][]byte, error) {
	rows, err := loadgen.ReadInstances(path)
	if err != nil {
		return nil, err
	}
	return loadgen.V1Bodies(rows), nil
}
