package mlflow_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/inference"
)

// TestXGBoostPromotion: two XGBoost boosters logged by MLflow's own client
// (mlflow.xgboost.log_model, UBJSON and JSON) are served natively by the
// local platform and v2 is promoted by the real binary end to end, with the
// gateway's answers equal to MLflow's pyfunc predictions for each version.
func TestXGBoostPromotion(t *testing.T) {
	bin := buildModelgate(t)
	s := mustServer(t)
	name := fmt.Sprintf("xgb-demand-%08x", rand.Uint32())
	dir := t.TempDir()
	t.Log(python(t, s, nil, "testdata/register_xgboost.py", name, dir))
	var instances []any
	var expected map[string][]float64
	mustReadJSON(t, filepath.Join(dir, "instances.json"), &instances)
	mustReadJSON(t, filepath.Join(dir, "expected.json"), &expected)

	base, platform := localGateway(t)
	cli := cliConfig(t, bin, s.URI, platform, "alias")
	cli(0, "deploy", name, "--version", "1")
	ep := modelgate.Endpoint{URL: "http://" + base, Name: name}
	wantPredictions(t, ep, instances, "1", expected["1"])

	stop := sendRows(ep, instances)
	for _, role := range []string{"data_science_lead", "compliance_officer"} {
		cli(0, "approve", name, "--version", "2", "--role", role, "--by", "t-"+role)
	}
	cli(0, "promote", name, "--version", "2")
	stop()
	wantPredictions(t, ep, instances, "2", expected["2"])

	st := readState(t, s, name)
	if st.Aliases["champion"] != "2" || st.Aliases["previous"] != "1" || st.Aliases["challenger"] != "" ||
		st.Versions["2"].Tags["modelgate.outcome"] != "promoted" {
		t.Fatalf("MLflow after the promotion: %+v", st)
	}
}

// wantPredictions posts the instances to production and checks that
// version answered each with exactly the float MLflow's pyfunc predicted.
func wantPredictions(t *testing.T, ep modelgate.Endpoint, instances []any, version string, want []float64) {
	t.Helper()
	if len(want) != len(instances) {
		t.Fatalf("%d expected predictions for %d instances", len(want), len(instances))
	}
	c := inference.Client{HTTP: &http.Client{Timeout: 10 * time.Second}}
	r, err := c.Predict(t.Context(), ep, instances)
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != http.StatusOK || r.Version != version || len(r.Predictions) != len(want) {
		t.Fatalf("status %d from version %q with %d predictions, want 200 from %s with %d: %s", r.Status, r.Version, len(r.Predictions), version, len(want), r.Body)
	}
	for i, p := range r.Predictions {
		if p != want[i] {
			t.Errorf("instance %d %v: version %s answered %v, MLflow's pyfunc %v", i, instances[i], version, p, want[i])
		}
	}
}

// sendRows sends the instances to production one at a time until stopped,
// the live traffic the canary is judged on.
func sendRows(ep modelgate.Endpoint, instances []any) func() {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := inference.Client{HTTP: &http.Client{Timeout: 5 * time.Second}}
			for i := w; ctx.Err() == nil; i += 4 {
				_, _ = c.Predict(ctx, ep, instances[i%len(instances):i%len(instances)+1])
				time.Sleep(10 * time.Millisecond)
			}
		}()
	}
	return func() { cancel(); wg.Wait() }
}

func mustReadJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}
