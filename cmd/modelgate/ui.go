package main

import (
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/lease"
	"github.com/modelgate/modelgate/web"
)

func newUICmd(g *globals) *cobra.Command {
	var listen string
	cmd := &cobra.Command{
		Use:   "ui",
		Short: "Serve a web view of promotions: steps, live canary-vs-production checks, reasons",
		Long: `Serve a read-only web page of the promotions in the state database. A running
promotion's page refreshes itself every few seconds, showing each check of the
latest look at the canary window.`,
		Example: `  modelgate ui --listen 127.0.0.1:8090   # then open http://127.0.0.1:8090/`,
		Args:    nArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return g.withReadApp(cmd, func(a *app) error {
				ln, err := net.Listen("tcp", listen)
				if err != nil {
					return modelgate.Errorf(modelgate.EUNAVAILABLE, "cannot listen on %s: %v", listen, err)
				}
				fmt.Fprintf(g.stderr, "modelgate web view on http://%s/\n", ln.Addr())
				return serveUntilDone(cmd.Context(), &http.Server{Handler: web.Handler(a.store, lease.Gone), ReadHeaderTimeout: 10 * time.Second}, ln)
			})
		},
	}
	cmd.Flags().StringVar(&listen, "listen", "127.0.0.1:8090", "address to listen on")
	return cmd
}
