package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/gateway"
)

func newServeCmd(g *globals) *cobra.Command {
	var listen string
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the local serving gateway (KServe V1 and Open Inference V2, with a canary split)",
		Long: `Serve models locally like KServe would: production at /v1 and /v2, staging under
/staging, a weighted split between the stable version and a canary, and per-version
measurement of latency, errors, predictions and input features. modelgate promote
drives it through its admin API, on its own listener (platform.admin_listen,
default 127.0.0.1:8081, or a unix socket path) and only with the admin token:
platform.admin_token_file, else $MODELGATE_ADMIN_TOKEN (platform.admin_token_env),
else the token serve generates into the state directory (state.dir/admin-token),
where the CLI finds it. The data listener serves no /admin/ path. Listening
beyond loopback needs platform.allow_non_loopback: true. What it serves and the
canary's measurements are kept in platform.state, so a restart serves the same
versions and the canary window goes on. Versions whose MLflow flavor modelgate does
not serve natively (a scikit-learn API LightGBM model, sklearn, any other) are
served by MLflow's own scoring server, started with platform.mlflow_python (a
Python with mlflow installed); without it they are refused. Unless GOGC is set,
serve runs Go's garbage collector at GOGC=400: its live heap is small, so this
trades a few MiB for fewer collections.`,
		Example: `  modelgate serve --listen 127.0.0.1:8080
  curl -s localhost:8080/v1/models/demand-forecast:predict \
    -d '{"instances": [{"store_id": 42, "date": "2025-01-15", "promo": 1}]}'`,
		Args: nArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error { return g.serve(cmd, listen) },
	}
	cmd.Flags().StringVar(&listen, "listen", "", "address to listen on (overrides platform.listen)")
	return cmd
}

// serve runs the gateway: the data plane on platform.listen, the admin API
// on platform.admin_listen behind the admin token, until ctx ends.
func (g *globals) serve(cmd *cobra.Command, listen string) error {
	cfg, err := g.config(cmd)
	if err != nil {
		return err
	}
	if listen != "" {
		cfg.Platform.Listen = listen
	}
	token, err := cfg.serveSetup(g.stderr)
	if err != nil {
		return err
	}
	// Listen first: a second serve on the same addresses stops here, before
	// it reads or saves the state file the running one keeps.
	data, admin, err := listenGateway(cfg.Platform.Listen, cfg.adminListen())
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(g.stderr, nil))
	gateway.SetGCPercent(os.Getenv("GOGC"))
	srv := newGateway(cfg.path(cfg.Platform.State), cfg.Platform.External, newActuals(cfg.Actuals), logger,
		withAdminToken(token, cfg.adminTokenHint()), withLimits(cfg.Platform), withMLflowServer(cfg.mlflowPython(), logger))
	if err := srv.Open(); err != nil {
		data.Close()
		admin.Close()
		return err
	}
	defer srv.Close()
	fmt.Fprintf(g.stderr, "modelgate gateway serving on http://%s (admin API on %s)\n", data.Addr(), gateway.AdminURLFor(admin.Addr().String()))
	return srv.Serve(cmd.Context(), data, admin)
}

// listenGateway opens the gateway's data and admin listeners.
func listenGateway(data, admin string) (net.Listener, net.Listener, error) {
	dl, err := net.Listen("tcp", data)
	if err != nil {
		return nil, nil, modelgate.Errorf(modelgate.EUNAVAILABLE, "cannot listen on %s: %v", data, err)
	}
	al, err := gateway.ListenAdmin(admin)
	if err != nil {
		dl.Close()
		return nil, nil, err
	}
	return dl, al, nil
}

// startLocalGateway serves srv on two free loopback ports in the
// background (the demo and tests); stop shuts it down.
func startLocalGateway(ctx context.Context, srv *gateway.Server) (data, admin string, stop func(), err error) {
	dl, al, err := listenGateway("127.0.0.1:0", "127.0.0.1:0")
	if err != nil {
		return "", "", nil, err
	}
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(ctx, dl, al) }()
	return dl.Addr().String(), al.Addr().String(), func() { cancel(); <-done }, nil
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
