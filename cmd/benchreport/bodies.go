package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/modelgate/modelgate/gateway/loadgen"
	"github.com/modelgate/modelgate/mlmodel"
)

// batches are the body sizes measured: one instance, and 100 per request.
var batches = []struct {
	name string
	size int
}{{"single", 1}, {"batch100", 100}}

// bodiesCmd writes, for each batch size, one file of bodies per protocol
// (a body a line, the same rows in the same order in each file) and the
// predictions LightGBM's evaluator gives for them:
//
//	v1-B.jsonl      KServe V1, raw fields: {"instances":[{"store_id":..,"date":..,"promo":..}]}
//	v2-B.jsonl      Open Inference Protocol, the transformed features as one FP64 [N,5] tensor
//	mlflow-B.jsonl  MLflow scoring, the transformed features: {"dataframe_split":{...}}
//	expected-B.jsonl  the predictions, an array a line
func bodiesCmd(args []string) error {
	fs := flag.NewFlagSet("bodies", flag.ContinueOnError)
	example := fs.String("example", "examples/demand-forecast", "example directory (data/live_requests.csv, models/v2)")
	out := fs.String("out", "", "output directory (required)")
	single := fs.Int("single", 200, "single-instance bodies to write (one row each)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" || *single <= 0 {
		return fmt.Errorf("bodies: -out is required and -single must be positive")
	}
	rows, err := loadgen.ReadInstances(filepath.Join(*example, "data", "live_requests.csv"))
	if err != nil {
		return fmt.Errorf("read live requests: %w", err)
	}
	m, err := mlmodel.Load(filepath.Join(*example, "models", "v2"))
	if err != nil {
		return fmt.Errorf("load model v2: %w", err)
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	for _, b := range batches {
		n := len(rows) / b.size
		if b.size == 1 {
			n = min(*single, len(rows))
		}
		if n == 0 {
			return fmt.Errorf("bodies: %d rows are fewer than one batch of %d", len(rows), b.size)
		}
		if err := writeBatch(*out, b.name, m, rows[:n*b.size], b.size); err != nil {
			return err
		}
	}
	return nil
}

// writeBatch writes the four files of one batch size.
func writeBatch(dir, name string, m *mlmodel.Model, rows []map[string]any, size int) error {
	files := map[string][]any{}
	names := m.FeatureNames()
	for i := 0; i < len(rows); i += size {
		instances := make([]any, size)
		for j := range size {
			instances[j] = rows[i+j]
		}
		feats, err := m.Features(instances)
		if err != nil {
			return fmt.Errorf("transform rows %d-%d: %w", i, i+size-1, err)
		}
		preds, err := m.Predict(feats)
		if err != nil {
			return fmt.Errorf("predict rows %d-%d: %w", i, i+size-1, err)
		}
		flat := make([]float64, 0, size*len(names))
		for _, f := range feats {
			flat = append(flat, f...)
		}
		files["v1"] = append(files["v1"], map[string]any{"instances": instances})
		files["v2"] = append(files["v2"], map[string]any{"inputs": []any{map[string]any{
			"name": "input-0", "datatype": "FP64", "shape": []int{size, len(names)}, "data": flat}}})
		files["mlflow"] = append(files["mlflow"], map[string]any{"dataframe_split": map[string]any{"columns": names, "data": feats}})
		files["expected"] = append(files["expected"], preds)
	}
	for kind, lines := range files {
		if err := writeLines(filepath.Join(dir, kind+"-"+name+".jsonl"), lines); err != nil {
			return err
		}
	}
	return nil
}

func writeLines(path string, lines []any) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	enc := json.NewEncoder(w) // one value a line
	for _, l := range lines {
		if err := enc.Encode(l); err != nil {
			f.Close()
			return fmt.Errorf("write %s: %w", path, err)
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Close()
}

// readLines reads a file of one JSON body a line.
func readLines(path string) ([][]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out [][]byte
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		if len(sc.Bytes()) > 0 {
			out = append(out, append([]byte(nil), sc.Bytes()...))
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("read %s: no bodies", path)
	}
	return out, nil
}
