package payload_test

import (
	"fmt"
	"net/http/httptest"
	"testing"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/modelgatetest"
	"github.com/modelgate/modelgate/payload"
	"github.com/modelgate/modelgate/prometheus/prometheustest"
)

// TestMetricsSourceConformance runs the metrics source suite against
// payload.MetricsSource as platform kserve wires it: a real Prometheus
// (scraping per-revision series) measures requests, errors and latency, and
// the Receiver, fed the CloudEvents KServe's logger sends for every answered
// request, the predictions. The Receiver notices a new split only when an
// Observe shows it (SplitNoticedOnObserve).
func TestMetricsSourceConformance(t *testing.T) {
	revs := prometheustest.StartRevisions(t)
	modelgatetest.TestMetricsSource(t, func(t *testing.T) modelgatetest.MetricsSubject {
		s := revs.Subject(t)
		r := payload.NewReceiver(s.Model)
		r.Service = s.Model
		ts := httptest.NewServer(r)
		t.Cleanup(ts.Close)
		l := &payloadLogger{url: ts.URL, service: s.Model}
		setSplit, send := s.SetSplit, s.Send
		s.Source = payload.MetricsSource{Metrics: s.Source, Receiver: r}
		s.SetSplit = func(t *testing.T, split modelgate.TrafficSplit) { setSplit(t, split); l.split = split }
		s.Send = func(t *testing.T, tr modelgatetest.Traffic) { send(t, tr); l.log(t, tr) }
		s.Predictions, s.SplitNoticedOnObserve = true, true
		return s
	})
}

// payloadLogger plays KServe's inference logger: a request and a response
// event for every request answered 200 (it logs no failed one).
type payloadLogger struct {
	url, service string
	split        modelgate.TrafficSplit
	n            int // events' Ce-Id
}

func (l *payloadLogger) log(t *testing.T, tr modelgatetest.Traffic) {
	t.Helper()
	for _, a := range []struct {
		version string
		arm     modelgatetest.Arm
	}{{l.split.Stable, tr.Stable}, {l.split.Canary, tr.Canary}} {
		for range a.arm.OK {
			l.n++
			id := fmt.Sprintf("req-%d", l.n)
			req := request(id, a.version, `{"instances": [[1.0, 2.0]]}`)
			resp := response(id, a.version, fmt.Sprintf(`{"predictions": [%v]}`, a.arm.Prediction))
			req.service, resp.service = l.service, l.service
			mustOK(t, l.url, req)
			mustOK(t, l.url, resp)
		}
	}
}
