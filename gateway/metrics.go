package gateway

import (
	"context"
	"net/http"

	"github.com/modelgate/modelgate"
)

var _ modelgate.MetricsSource = (*MetricsSource)(nil)

// MetricsSource implements modelgate.MetricsSource over the gateway's
// /admin/models/{model}/observe.
type MetricsSource struct {
	c client
}

// NewMetricsSource returns a MetricsSource for a gateway serving its admin
// API on baseURL (Server.Handler), without a token; a nil client means
// http.DefaultClient. NewMetricsSourceFor reaches a served gateway.
func NewMetricsSource(baseURL string, client *http.Client) *MetricsSource {
	return NewMetricsSourceFor(Endpoints{URL: baseURL, Client: client})
}

// NewMetricsSourceFor returns a MetricsSource for the gateway at ep.
func NewMetricsSourceFor(ep Endpoints) *MetricsSource {
	return &MetricsSource{c: newAdminClient(ep)}
}

// Observe returns stable and canary figures since the split was set; the
// canary's Paired when the split mirrors. ENOTFOUND when the model is not
// served in production; Canary is empty (Version "") without a canary.
func (m *MetricsSource) Observe(ctx context.Context, model string) (*modelgate.Window, error) {
	var w modelgate.Window
	if err := m.c.do(ctx, http.MethodGet, modelPath(model, "/observe"), nil, &w); err != nil {
		return nil, err
	}
	return &w, nil
}
