package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBodies checks every protocol's file carries the same rows: the V2
// tensor and MLflow's dataframe hold the same features, one body per line
// in each file, and one prediction per row.
func TestBodies(t *testing.T) {
	dir := t.TempDir()
	if err := bodiesCmd([]string{"-example", "../../examples/demand-forecast", "-out", dir, "-single", "7"}); err != nil {
		t.Fatal(err)
	}
	for _, b := range []struct {
		name        string
		lines, rows int
	}{{"single", 7, 1}, {"batch100", 30, 100}} {
		files := map[string][][]byte{}
		for _, kind := range []string{"v1", "v2", "mlflow", "expected"} {
			l, err := readLines(filepath.Join(dir, kind+"-"+b.name+".jsonl"))
			if err != nil {
				t.Fatal(err)
			}
			if len(l) != b.lines {
				t.Fatalf("%s-%s: %d bodies, want %d", kind, b.name, len(l), b.lines)
			}
			files[kind] = l
		}
		var v1 struct{ Instances []map[string]any }
		var v2 struct {
			Inputs []struct {
				Shape []int
				Data  []float64
			}
		}
		var ml struct {
			DataframeSplit struct{ Data [][]float64 } `json:"dataframe_split"`
		}
		var exp []float64
		last := b.lines - 1
		for _, u := range []struct {
			b []byte
			v any
		}{{files["v1"][last], &v1}, {files["v2"][last], &v2}, {files["mlflow"][last], &ml}, {files["expected"][last], &exp}} {
			if err := json.Unmarshal(u.b, u.v); err != nil {
				t.Fatal(err)
			}
		}
		if len(v1.Instances) != b.rows || len(exp) != b.rows || len(ml.DataframeSplit.Data) != b.rows {
			t.Fatalf("%s: %d instances, %d predictions, %d dataframe rows; want %d each",
				b.name, len(v1.Instances), len(exp), len(ml.DataframeSplit.Data), b.rows)
		}
		if got := v2.Inputs[0].Shape; got[0] != b.rows || got[1] != 5 {
			t.Fatalf("%s: V2 shape %v, want [%d 5]", b.name, got, b.rows)
		}
		for i, row := range ml.DataframeSplit.Data {
			for j, v := range row {
				if v2.Inputs[0].Data[i*5+j] != v {
					t.Fatalf("%s row %d feature %d: V2 %v, MLflow %v", b.name, i, j, v2.Inputs[0].Data[i*5+j], v)
				}
			}
			if row[0] != v1.Instances[i]["store_id"] {
				t.Fatalf("%s row %d: store_id %v in the features, %v in the V1 body", b.name, i, row[0], v1.Instances[i]["store_id"])
			}
		}
	}
}

// TestTreeCPU checks this process's CPU time grows while it burns CPU.
func TestTreeCPU(t *testing.T) {
	before, err := treeCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	x := 0
	for i := range 200_000_000 {
		x += i % 7
	}
	after, err := treeCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if after <= before {
		t.Fatalf("CPU seconds %v then %v after a busy loop (%d)", before, after, x)
	}
	if kib, procs, err := treeHWM(os.Getpid()); err != nil || kib <= 0 || procs != 1 {
		t.Fatalf("treeHWM = %d KiB over %d processes, %v", kib, procs, err)
	}
}

// TestRatios checks the goals use each server's best round and the
// fastest Python server.
func TestRatios(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r.jsonl")
	for _, r := range []result{
		{Kind: "closed", Server: "gateway", Body: "single", Round: 1, RPS: 9000, CPUusPerReq: 30},
		{Kind: "closed", Server: "gateway", Body: "single", Round: 2, RPS: 10000, CPUusPerReq: 40},
		{Kind: "closed", Server: "kserve", Body: "single", Round: 1, RPS: 1000, CPUusPerReq: 300},
		{Kind: "closed", Server: "mlflow", Body: "single", Round: 1, RPS: 500, CPUusPerReq: 100},
		{Kind: "closed", Server: "trivial", Body: "single", Round: 1, RPS: 20000, CPUusPerReq: 15},
	} {
		if err := appendResult(path, r); err != nil {
			t.Fatal(err)
		}
	}
	var out bytes.Buffer
	if err := tableCmd([]string{"-in", path}, &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"| gateway ÷ best Python server (kserve) | single | 10.00× | 10.00× | ≥ 10× | yes |",
		"| gateway ÷ trivial Go handler | single | 0.50× | 0.50× | ≥ 0.75× | no |",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, out.String())
		}
	}
}
