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

// NewMetricsSource returns a MetricsSource for the gateway at baseURL; a nil
// client means http.DefaultClient.
func NewMetricsSource(baseURL string, client *http.Client) *MetricsSource {
	return &MetricsSource{c: newClient(baseURL, client)}
}

// Observe returns stable and canary figures since the split was set.
// ENOTFOUND when the model is not served in production; Canary is empty
// (Version "") without a canary.
func (m *MetricsSource) Observe(ctx context.Context, model string) (*modelgate.Window, error) {
	var w modelgate.Window
	if err := m.c.do(ctx, http.MethodGet, modelPath(model, "/observe"), nil, &w); err != nil {
		return nil, err
	}
	return &w, nil
}
