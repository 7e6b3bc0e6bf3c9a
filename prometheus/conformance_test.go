package prometheus_test

import (
	"testing"

	"github.com/modelgate/modelgate/modelgatetest"
	"github.com/modelgate/modelgate/prometheus/prometheustest"
)

// TestMetricsSourceConformance runs the metrics source suite against a real
// Prometheus scraping the per-revision series of the knative family, every
// subtest with a model (and revisions) of its own.
func TestMetricsSourceConformance(t *testing.T) {
	revs := prometheustest.StartRevisions(t)
	modelgatetest.TestMetricsSource(t, func(t *testing.T) modelgatetest.MetricsSubject { return revs.Subject(t) })
}
