package main

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/judge"
	"github.com/modelgate/modelgate/profile"
)

// The drift benchmark's data: two files of rows × features little-endian
// float64, row-major (numpy.fromfile(...).reshape(-1, features) reads them),
// and meta.json.

type driftMeta struct {
	Rows     int     `json:"rows"`
	Features int     `json:"features"`
	Seed     uint64  `json:"seed"`
	Shift    float64 `json:"shift"`   // multiplicative shift of the drifted features
	Drifted  int     `json:"drifted"` // features 0..Drifted−1 are shifted by Shift
	Small    float64 `json:"small"`   // multiplicative shift of every other feature
}

func runDriftData(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("judgesim drift-data", flag.ContinueOnError)
	var m driftMeta
	dir := fs.String("dir", ".cache/drift-bench", "output directory")
	fs.IntVar(&m.Rows, "rows", 1_000_000, "rows in the reference and in the current file")
	fs.IntVar(&m.Features, "features", 20, "numeric features")
	fs.Uint64Var(&m.Seed, "seed", 1, "random seed")
	fs.Float64Var(&m.Shift, "shift", 1.2, "current = reference × shift for the drifted features")
	fs.IntVar(&m.Drifted, "drifted", 5, "number of drifted features")
	fs.Float64Var(&m.Small, "small", 1.01, "current = reference × small for the other features")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		return err
	}
	for i, name := range []string{"reference.f64", "current.f64"} {
		if err := writeRows(filepath.Join(*dir, name), m, i == 1); err != nil {
			return err
		}
	}
	b, _ := json.MarshalIndent(m, "", "  ")
	if err := os.WriteFile(filepath.Join(*dir, "meta.json"), b, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(out, "wrote %d×%d reference and current rows to %s\n", m.Rows, m.Features, *dir)
	return nil
}

// writeRows writes log-normal features, feature j with log-scale
// 0.3+0.05j, scaled for the current file.
func writeRows(path string, m driftMeta, current bool) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	stream := uint64(0)
	if current {
		stream = 1
	}
	r := rand.New(rand.NewPCG(m.Seed, stream))
	buf := make([]byte, 8)
	for range m.Rows {
		for j := range m.Features {
			v := math.Exp(float64(j)*0.1 + (0.3+0.05*float64(j))*r.NormFloat64())
			if current {
				if j < m.Drifted {
					v *= m.Shift
				} else {
					v *= m.Small
				}
			}
			binary.LittleEndian.PutUint64(buf, math.Float64bits(v))
			if _, err := w.Write(buf); err != nil {
				f.Close()
				return err
			}
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// driftResult is one feature's figures.
type driftResult struct {
	Feature string             `json:"feature"`
	Figures map[string]float64 `json:"figures"`
}

func runDrift(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("judgesim drift", flag.ContinueOnError)
	dir := fs.String("dir", ".cache/drift-bench", "directory written by drift-data")
	limit := fs.Int("limit", 0, "read only this many rows of each file (0: all)")
	bins := fs.Int("bins", 10, "reference-quantile bins for PSI and Jensen–Shannon")
	workers := fs.Int("workers", runtime.GOMAXPROCS(0), "columns ingested in parallel")
	output := fs.String("o", "table", "output: table or json")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var m driftMeta
	b, err := os.ReadFile(filepath.Join(*dir, "meta.json"))
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	start := time.Now()
	names := make([]string, m.Features)
	for j := range names {
		names[j] = fmt.Sprintf("f%d", j)
	}
	ref, nref, err := ingest(filepath.Join(*dir, "reference.f64"), names, *limit, *workers)
	if err != nil {
		return err
	}
	cur, ncur, err := ingest(filepath.Join(*dir, "current.f64"), names, *limit, *workers)
	if err != nil {
		return err
	}
	ingested := time.Since(start)
	var results []driftResult
	for _, n := range names {
		f, err := judge.DriftFigures(ref.Features[n], cur.Features[n], *bins)
		if err != nil {
			return fmt.Errorf("%s: %w", n, err)
		}
		results = append(results, driftResult{Feature: n, Figures: f})
	}
	total := time.Since(start)
	profileJSON, _ := json.Marshal(ref)
	if *output == "json" {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(map[string]any{
			"reference_rows": nref, "current_rows": ncur, "features": m.Features,
			"ingest_seconds": ingested.Seconds(), "metrics_seconds": (total - ingested).Seconds(), "total_seconds": total.Seconds(),
			"profile_json_bytes": len(profileJSON), "results": results,
		})
	}
	fmt.Fprintf(out, "modelgate drift: %d reference and %d current rows × %d features; ingest %.3fs, metrics %.3fs, total %.3fs; reference profile %d bytes of JSON\n",
		nref, ncur, m.Features, ingested.Seconds(), (total - ingested).Seconds(), total.Seconds(), len(profileJSON))
	fmt.Fprintf(out, "%-8s %10s %10s %10s %12s %10s\n", "feature", "psi", "js", "ks_d", "ks_p", "wass_norm")
	for _, r := range results {
		f := r.Figures
		fmt.Fprintf(out, "%-8s %10.5f %10.5f %10.5f %12.3g %10.5f\n", r.Feature, f["psi"], f["js"], f["ks_d"], f["ks_p"], f["wasserstein_norm"])
	}
	return nil
}

// ingest streams a row-major float64 file into a profile, chunk by chunk:
// memory is one chunk plus the sketches, whatever the file's length.
func ingest(path string, names []string, limit, workers int) (*modelgate.Profile, int, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	nf := len(names)
	b := profile.NewBuilder(names)
	const chunkRows = 16384
	raw := make([]byte, chunkRows*nf*8)
	cols := make([][]float64, nf)
	for j := range cols {
		cols[j] = make([]float64, chunkRows)
	}
	rd := bufio.NewReaderSize(f, 1<<20)
	rows := 0
	for limit == 0 || rows < limit {
		want := chunkRows
		if limit > 0 {
			want = min(want, limit-rows)
		}
		n, err := io.ReadFull(rd, raw[:want*nf*8])
		got := n / (nf * 8)
		for i := range got {
			for j := range nf {
				cols[j][i] = math.Float64frombits(binary.LittleEndian.Uint64(raw[(i*nf+j)*8:]))
			}
		}
		var wg sync.WaitGroup
		next := make(chan int, nf)
		for j := range nf {
			next <- j
		}
		close(next)
		for range max(workers, 1) {
			wg.Go(func() {
				for j := range next {
					b.AddColumn(j, cols[j][:got])
				}
			})
		}
		wg.Wait()
		b.AddRows(int64(got))
		rows += got
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		}
		if err != nil {
			return nil, 0, err
		}
	}
	p := b.Profile()
	return p, rows, nil
}
