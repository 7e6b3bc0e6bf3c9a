package smoke_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/modelgate/modelgate"
	kserveserver "github.com/modelgate/modelgate/examples/kserve-server"
	"github.com/modelgate/modelgate/gateway"
	"github.com/modelgate/modelgate/smoke"
)

// BenchmarkEvaluation measures evaluation throughput (rows/s) on the
// example's ground truth through the native gateway and through the KServe
// Python server, over V1 and V2, in batches of 100:
//
//	go test -run '^$' -bench Evaluation -benchtime 5x ./smoke/
func BenchmarkEvaluation(b *testing.B) {
	_, native := nativeGateway(b, "", "2")
	servers := map[string]modelgate.Endpoint{"native": native}
	if py := kserveserver.Python(b); py != "" {
		d := deployment(b, "2")
		u, err := gateway.StartUpstream(context.Background(), gateway.UpstreamSpec{Command: kserveserver.Command(py, d.ModelDir, d.Model), ReadyTimeout: 2 * time.Minute}, d)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = u.Close() })
		servers["kserve"] = modelgate.Endpoint{URL: u.URL(), Name: d.Model}
	}
	for _, name := range []string{"native", "kserve"} {
		for _, proto := range []string{"v1", "v2"} {
			b.Run(name+"/"+proto, func(b *testing.B) {
				g := &smoke.Evaluation{Dataset: filepath.Join(example, "data", "ground_truth.csv"), Protocol: proto}
				c := candidate(b, "2")
				if _, err := g.Check(context.Background(), servers[name], c); err != nil { // warm-up
					b.Fatal(err)
				}
				var rows float64
				start := time.Now()
				for range b.N {
					r, err := g.Check(context.Background(), servers[name], c)
					if err != nil {
						b.Fatal(err)
					}
					ev, _ := smoke.EvaluationOf(r)
					rows += float64(ev.Rows)
				}
				b.ReportMetric(rows/time.Since(start).Seconds(), "rows/s")
			})
		}
	}
}
