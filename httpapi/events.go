package httpapi

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/modelgate/modelgate"
)

// An event stream (Server-Sent Events) of one promotion: first
//
//	event: state      data: the promotion as it is
//
// then one per progress event, numbered so a client that reconnects with
// Last-Event-ID gets what it missed,
//
//	id: <epoch>.<seq>  event: progress  data: a modelgate.Event
//
// and, when the promotion ends (held counts as an end),
//
//	event: end        data: the promotion as it ended
//
// after which the server closes the stream. Comments keep it alive.
func (s *Server) events(w http.ResponseWriter, r *http.Request, c *call) error {
	p, _, err := s.Service.Promotion(r.Context(), c.promo)
	if err != nil {
		return err
	}
	sw := &sseWriter{w: w}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	sw.send("", "state", p)
	stop := sw.keepAlive(s.Heartbeat)
	defer stop()
	end, err := s.Service.FollowPromotion(r.Context(), c.promo, s.after(r), func(e modelgate.Event) {
		sw.send(s.epoch+"."+strconv.FormatInt(e.Seq, 10), "progress", e)
	})
	if err == nil {
		sw.send("", "end", end)
	}
	return nil // the status is sent; a client gone is not an error
}

// after is the last event the client has, from Last-Event-ID: its number
// when this process numbered it, else 0 (all that is kept).
func (s *Server) after(r *http.Request) int64 {
	id := r.Header.Get("Last-Event-ID")
	if id == "" {
		id = r.URL.Query().Get("after")
	}
	epoch, seq, ok := strings.Cut(id, ".")
	if !ok || epoch != s.epoch {
		return 0
	}
	n, _ := strconv.ParseInt(seq, 10, 64)
	return n
}

// sseWriter writes events one at a time, flushing each.
type sseWriter struct {
	mu sync.Mutex
	w  http.ResponseWriter
}

func (sw *sseWriter) send(id, event string, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		b, _ = json.Marshal(map[string]string{"unencodable": err.Error()})
	}
	sw.mu.Lock()
	defer sw.mu.Unlock()
	if id != "" {
		fmt.Fprintf(sw.w, "id: %s\n", id)
	}
	fmt.Fprintf(sw.w, "event: %s\ndata: %s\n\n", event, b)
	sw.flush()
}

func (sw *sseWriter) flush() {
	if f, ok := sw.w.(http.Flusher); ok {
		f.Flush()
	}
}

// keepAlive writes a comment every d until stop is called.
func (sw *sseWriter) keepAlive(d time.Duration) (stop func()) {
	if d <= 0 {
		d = 15 * time.Second
	}
	done, exited := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(exited)
		t := time.NewTicker(d)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				sw.mu.Lock()
				_, _ = io.WriteString(sw.w, ": keep-alive\n\n")
				sw.flush()
				sw.mu.Unlock()
			}
		}
	}()
	var once sync.Once
	return func() { once.Do(func() { close(done); <-exited }) }
}
