package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/judge"
)

func smallConfig() simConfig {
	return simConfig{Window: 6 * time.Minute, Interval: 30 * time.Second, NaiveEvery: time.Minute, RPS: 100, CanaryShare: 0.1,
		ErrorRate: 0.01, CanaryErrors: 0.01, LatencyMed: 30, LatencySigma: 0.6, PredMean: 100, PredSD: 20}
}

func TestSimulateIsReproducible(t *testing.T) {
	c := smallConfig()
	c.CanaryErrors = 0.04
	a := runBatch(c, judge.DefaultSequential(), judge.DefaultThresholds(), 0.05, 9, 4, 2)
	b := runBatch(c, judge.DefaultSequential(), judge.DefaultThresholds(), 0.05, 9, 4, 1)
	for i := range a {
		if a[i].Seq != b[i].Seq || a[i].SeqAt != b[i].SeqAt {
			t.Fatalf("run %d differs between worker counts: %+v vs %+v", i, a[i], b[i])
		}
		if a[i].Seq != modelgate.DecisionRollback {
			t.Fatalf("run %d: a canary with 4× the errors was not rolled back: %+v", i, a[i])
		}
	}
}

func TestSimCommand(t *testing.T) {
	var out bytes.Buffer
	err := run([]string{"sim", "-runs", "3", "-window", "3m", "-scenarios", "aa,errors2x", "-o", "json"}, &out)
	if err != nil {
		t.Fatal(err)
	}
	var res []struct{ Summary summary }
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatal(err)
	}
	if len(res) != 2 || res[0].Summary.Runs != 3 {
		t.Fatalf("results = %+v", res)
	}
	if err := run([]string{"sim", "-scenarios", "nope"}, &out); err == nil || !strings.Contains(err.Error(), "unknown scenario") {
		t.Fatalf("unknown scenario: err = %v", err)
	}
}

func TestDriftCommands(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	if err := run([]string{"drift-data", "-rows", "5000", "-features", "3", "-drifted", "1", "-dir", dir}, &out); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "reference.f64")); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := run([]string{"drift", "-dir", dir, "-o", "json"}, &out); err != nil {
		t.Fatal(err)
	}
	var res struct {
		Results []driftResult `json:"results"`
	}
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatal(err)
	}
	if len(res.Results) != 3 {
		t.Fatalf("results = %+v", res.Results)
	}
	// f0 is scaled by 1.2, the others by 1.01.
	if res.Results[0].Figures["wasserstein_norm"] < 0.1 || res.Results[1].Figures["wasserstein_norm"] > 0.1 {
		t.Fatalf("drifted f0 %v, undrifted f1 %v", res.Results[0].Figures, res.Results[1].Figures)
	}
}
