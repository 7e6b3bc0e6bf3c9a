package promexport

import "github.com/prometheus/client_golang/prometheus"

// AuditAppends is the appends counter of one result, for tests.
func (m *Metrics) AuditAppends(result string) prometheus.Counter {
	return m.appends.WithLabelValues(result)
}
