package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"github.com/modelgate/modelgate"
)

func newServeCmd(g *globals) *cobra.Command {
	var listen string
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the local serving gateway (KServe V1 and Open Inference V2, with a canary split)",
		Long: `Serve models locally like KServe would: production at /v1 and /v2, staging under
/staging, a weighted split between the stable version and a canary, and per-version
measurement of latency, errors, predictions and input features. modelgate promote
drives it through /admin/. What it serves is kept in platform.state, so a restart
serves the same versions.`,
		Example: `  modelgate serve --listen 127.0.0.1:8080
  curl -s localhost:8080/v1/models/demand-forecast:predict \
    -d '{"instances": [{"store_id": 42, "date": "2025-01-15", "promo": 1}]}'`,
		Args: nArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := g.config(cmd)
			if err != nil {
				return err
			}
			if listen != "" {
				cfg.Platform.Listen = listen
			}
			logger := slog.New(slog.NewTextHandler(g.stderr, nil))
			srv := newGateway(cfg.path(cfg.Platform.State), cfg.Platform.External, newActuals(cfg.Actuals), logger)
			if err := srv.Open(); err != nil {
				return err
			}
			defer srv.Close()
			ln, err := net.Listen("tcp", cfg.Platform.Listen)
			if err != nil {
				return modelgate.Errorf(modelgate.EUNAVAILABLE, "cannot listen on %s: %v", cfg.Platform.Listen, err)
			}
			fmt.Fprintf(g.stderr, "modelgate gateway serving on http://%s\n", ln.Addr())
			return serveUntilDone(cmd.Context(), &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second}, ln)
		},
	}
	cmd.Flags().StringVar(&listen, "listen", "", "address to listen on (overrides platform.listen)")
	return cmd
}

// serveUntilDone serves until ctx ends, then shuts down gracefully.
func serveUntilDone(ctx context.Context, hs *http.Server, ln net.Listener) error {
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
