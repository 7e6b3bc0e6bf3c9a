package gateway

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/modelgate/modelgate"
)

// shutdownGrace is how long Serve waits for requests in flight when ctx
// ends.
const shutdownGrace = 5 * time.Second

// Serve serves the data plane on data and the admin API on admin until
// ctx ends, then shuts both down gracefully. Keeping them on two listeners
// is what lets the data plane face clients while the admin API stays on
// loopback or a unix socket. It refuses to serve the admin API without
// Options.AdminToken (EINVALID). It does not Close s.
func (s *Server) Serve(ctx context.Context, data, admin net.Listener) error {
	if s.opts.AdminToken == "" {
		return modelgate.Errorf(modelgate.EINVALID, "gateway: Serve needs Options.AdminToken: the admin API is never served unauthenticated")
	}
	servers := []*http.Server{s.httpServer(s.data), s.httpServer(s.adminAPI)}
	errc := make(chan error, len(servers)+1)
	// The data plane's connections use raw socket calls (rawconn_linux.go):
	// a standard Read or Write enters the scheduler's syscall state, which
	// on a gateway pinned to one core wakes the runtime's monitor thread on
	// the request's path and keeps it ticking beside every request (about
	// 2 wake-ups a request, 10% of a single-instance request's CPU). The
	// price: while the process does only raw I/O the monitor sleeps until
	// the next timer, so preempting a goroutine that runs for more than
	// 10 ms can come late; a prediction's rows are split over GOMAXPROCS
	// goroutines beyond 1024, which keeps any one short.
	// h1Server serves them while their requests are plain HTTP/1.1 ones
	// and hands them to net/http otherwise (h1server.go).
	dataHandler := s.data
	if s.opts.BusyPoll > 0 {
		pctx, stopPolling := context.WithCancel(ctx)
		bp, err := newBusyPoller(pctx, s.opts.BusyPoll, data)
		if err != nil {
			stopPolling()
			return modelgate.Errorf(modelgate.EPRECONDITION, "gateway: %v (Options.BusyPoll; 0 turns it off)", err)
		}
		defer bp.wait()
		defer stopPolling()
		dataHandler = kicking(bp, s.data)
	}
	h1 := newH1Server(dataHandler, servers[0], &s.date, s.opts.Logger, data.Addr())
	go func() { errc <- h1.serve(rawListener{data}) }()
	for i, ln := range []net.Listener{h1.handoff, admin} {
		go func() { errc <- servers[i].Serve(ln) }()
	}
	var err error
	select {
	case err = <-errc: // a listener failed: stop the others too
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownGrace)
	defer cancel()
	// All at once: a connection h1Server handed to net/http gets the same
	// grace as one it still serves.
	stops := []func(context.Context) error{h1.shutdown, servers[0].Shutdown, servers[1].Shutdown}
	serrs := make(chan error, len(stops))
	for _, stop := range stops {
		go func() { serrs <- stop(sctx) }()
	}
	for range stops {
		if serr := <-serrs; serr != nil && err == nil {
			err = serr
		}
	}
	if sctx.Err() != nil { // the grace is over: close what is still open
		for _, hs := range servers {
			hs.Close()
		}
	}
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// httpServer serves h with timeouts that keep a slow or stalled client
// from holding a connection for ever.
func (s *Server) httpServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       time.Minute,
		WriteTimeout:      s.opts.RequestTimeout + time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
}

// ListenAdmin listens where the admin API should: "host:port", or a unix
// socket path (anything holding a "/"; AdminURLFor names it for clients),
// created with mode 0600 after removing a stale socket left by a crash.
func ListenAdmin(addr string) (net.Listener, error) {
	if !strings.Contains(addr, "/") {
		return listen("tcp", addr)
	}
	if fi, err := os.Lstat(addr); err == nil && fi.Mode()&fs.ModeSocket != 0 {
		_ = os.Remove(addr)
	}
	ln, err := listen("unix", addr)
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(addr, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("restrict the admin socket %s: %w", addr, err)
	}
	return ln, nil
}

func listen(network, addr string) (net.Listener, error) {
	ln, err := net.Listen(network, addr)
	if err != nil {
		return nil, modelgate.Errorf(modelgate.EUNAVAILABLE, "cannot listen on %s: %v", addr, err)
	}
	return ln, nil
}

// kicking starts the busy poller's window with each data-plane request.
func kicking(bp *busyPoller, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		bp.kick()
		h.ServeHTTP(w, r)
	})
}
