package gateway_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/gateway"
	"github.com/modelgate/modelgate/gateway/loadgen"
	"github.com/modelgate/modelgate/mlmodel"
)

// benchGateway serves the example's v2 as stable with the real loader and
// returns its data plane and V1 bodies of n live instances each.
func benchGateway(b *testing.B, n int) (http.Handler, [][]byte) {
	b.Helper()
	dir, err := filepath.Abs("../examples/demand-forecast/models/v2")
	if err != nil {
		b.Fatal(err)
	}
	srv := mustOpenServer(b, gateway.Options{Loader: func(dir string) (gateway.Model, error) { return mlmodel.Load(dir) }})
	ts := httptest.NewServer(srv.Handler())
	b.Cleanup(ts.Close)
	digest, err := modelgate.DirDigest(dir)
	if err != nil {
		b.Fatal(err)
	}
	dep := modelgate.Deployment{Model: "demand-forecast", Version: "2", ModelDir: dir, Digest: digest}
	if err := gateway.NewDeployer(ts.URL, ts.Client()).SetStable(b.Context(), dep); err != nil {
		b.Fatal(err)
	}
	rows, err := loadgen.ReadInstances("../examples/demand-forecast/data/live_requests.csv")
	if err != nil {
		b.Fatal(err)
	}
	var bodies [][]byte
	for i := 0; i+n <= len(rows) && len(bodies) < 64; i += n {
		inst := make([]any, n)
		for j := range n {
			inst[j] = rows[i+j]
		}
		body, _ := json.Marshal(map[string]any{"instances": inst})
		bodies = append(bodies, body)
	}
	return srv.DataHandler(), bodies
}

// benchmarkPredictV1 measures the data plane's per-request cost without
// the network: one V1 predict of n instances per iteration.
func benchmarkPredictV1(b *testing.B, n int) {
	h, bodies := benchGateway(b, n)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		req := httptest.NewRequest(http.MethodPost, "/v1/models/demand-forecast:predict", bytes.NewReader(bodies[i%len(bodies)]))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatalf("status %d: %s", w.Code, w.Body)
		}
	}
}

func BenchmarkPredictV1_1(b *testing.B)   { benchmarkPredictV1(b, 1) }
func BenchmarkPredictV1_100(b *testing.B) { benchmarkPredictV1(b, 100) }
