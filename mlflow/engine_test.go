package mlflow_test

import (
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"modelgate"
	"modelgate/audit"
	"modelgate/gateway"
	"modelgate/inference"
	"modelgate/judge"
	"modelgate/mlflow"
	"modelgate/mlmodel"
	"modelgate/promotion"
	"modelgate/smoke"
	"modelgate/sqlite"
)

// The real promotion engine drives the example registered by MLflow's own
// Python client, through the local gateway with live traffic: v2 promoted,
// then v3 rolled back; the result is read back with MLflow's own client.
func TestEngine_PromoteAndRollBack(t *testing.T) {
	for _, mode := range []string{"stage", "alias"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			s := mustServer(t)
			name, _ := registerExample(t, s, mode, "")
			r := mustRegistry(t, s, nil)
			svc, base := engine(t, r, mode)
			ctx := t.Context()
			prod, err := svc.Artifact(ctx, name, "1")
			if err != nil {
				t.Fatal(err)
			}
			prod.Model = name
			if err := gateway.NewDeployer(base, nil).SetStable(ctx, prod); err != nil {
				t.Fatal(err)
			}
			stop := traffic(t, base, name)
			defer stop()
			for _, step := range []struct{ version, want string }{{"2", "promoted"}, {"3", "rolled_back"}} {
				if mode == "alias" && step.version == "3" {
					mustDo(t, r.SetAlias(ctx, name, "challenger", "3"))
				}
				approve(t, svc, name, step.version)
				p, err := svc.Start(ctx, name, step.version)
				if err != nil {
					t.Fatalf("start %s: %v", step.version, err)
				}
				if p, err = svc.Run(ctx, p); err != nil || string(p.Outcome) != step.want {
					t.Fatalf("version %s: outcome %q (%v), want %s; reasons %v", step.version, p.Outcome, err, step.want, p.Reasons)
				}
			}
			checkMLflowState(t, s, name, mode)
		})
	}
}

func checkMLflowState(t *testing.T, s *server, name, mode string) {
	t.Helper()
	st := readState(t, s, name)
	v := st.Versions
	if v["2"].Tags["modelgate.outcome"] != "promoted" || v["3"].Tags["modelgate.outcome"] != "rolled_back" {
		t.Fatalf("outcome tags: v2 %v, v3 %v", v["2"].Tags, v["3"].Tags)
	}
	switch mode {
	case "stage":
		if v["1"].Stage != "Archived" || v["2"].Stage != "Production" || v["3"].Stage != "Archived" {
			t.Fatalf("stages as MLflow's client reads them: %+v", v)
		}
	case "alias":
		if st.Aliases["champion"] != "2" || st.Aliases["previous"] != "1" || st.Aliases["challenger"] != "" {
			t.Fatalf("aliases as MLflow's client reads them: %v", st.Aliases)
		}
	}
}

// engine builds a promotion service over r and an in-process gateway.
func engine(t *testing.T, r *mlflow.Registry, mode string) (*promotion.Service, string) {
	t.Helper()
	dir := t.TempDir()
	gw := gateway.NewServer(gateway.Options{Loader: func(d string) (gateway.Model, error) { return mlmodel.Load(d) }})
	if err := gw.Open(); err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(gw.Handler())
	t.Cleanup(func() { hs.Close(); gw.Close() })
	db := sqlite.NewDB(filepath.Join(dir, "state.db"))
	if err := db.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	log, err := audit.Open(filepath.Join(dir, "audit.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	j := judge.DefaultThresholds()
	j.MinRequests = 30
	policy := promotion.DefaultPolicy()
	policy.Window, policy.Interval, policy.Extension = 6*time.Second, 500*time.Millisecond, 6*time.Second
	policy.CanaryPercent = 30
	var m promotion.Mode = promotion.StageMode{}
	if mode == "alias" {
		m = promotion.DefaultAliasMode()
	}
	return &promotion.Service{
		Registry: r, Deployer: gateway.NewDeployer(hs.URL, nil), Metrics: gateway.NewMetricsSource(hs.URL, nil),
		Store: sqlite.NewPromotionStore(db), Audit: log, Judge: j, Mode: m, Policy: policy,
		Gates:    []promotion.Gate{&smoke.Requests{Count: 10, Warmup: 1}},
		CacheDir: filepath.Join(dir, "cache"), Owner: "test", Actor: "test",
	}, hs.URL
}

func approve(t *testing.T, svc *promotion.Service, name, version string) {
	t.Helper()
	for _, role := range []string{"data_science_lead", "compliance_officer"} {
		mustDo(t, svc.Store.AddApproval(t.Context(), &modelgate.Approval{Model: name, Version: version, Role: role, By: "t", At: time.Now()}))
	}
}

// traffic sends the example's live rows to production until stopped.
func traffic(t *testing.T, base, name string) func() {
	t.Helper()
	f, err := os.Open("../examples/demand-forecast/data/live_requests.csv")
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	ep := modelgate.Endpoint{URL: base, Name: name}
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := inference.Client{HTTP: &http.Client{Timeout: 5 * time.Second}}
			for i := w; ctx.Err() == nil; i += 4 {
				row := rows[1+i%(len(rows)-1)]
				var store, promo float64
				fmt.Sscan(row[0], &store)
				fmt.Sscan(row[2], &promo)
				_, _ = c.Predict(ctx, ep, []any{map[string]any{"store_id": store, "date": row[1], "promo": promo}})
				time.Sleep(10 * time.Millisecond)
			}
		}()
	}
	return func() { cancel(); wg.Wait() }
}
