package lightgbm_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/modelgate/modelgate/lightgbm"
)

// syntheticModel writes a LightGBM v4 text model of nTrees random trees with
// nLeaves leaves over nFeatures features, feature 0 categorical (40
// categories), grown leaf by leaf the way LightGBM's Tree::Split numbers
// nodes. It is the size of a typical production model (the demand-forecast
// example's v2 has 200 trees of 31 leaves) without committing one.
func syntheticModel(nTrees, nLeaves, nFeatures int) string {
	rng := rand.New(rand.NewPCG(1, 2))
	var b strings.Builder
	names := make([]string, nFeatures)
	for i := range names {
		names[i] = fmt.Sprintf("f%d", i)
	}
	fmt.Fprintf(&b, "tree\nversion=v4\nnum_class=1\nnum_tree_per_iteration=1\nlabel_index=0\nmax_feature_idx=%d\n", nFeatures-1)
	fmt.Fprintf(&b, "objective=regression\nfeature_names=%s\n\n", strings.Join(names, " "))
	for t := range nTrees {
		fmt.Fprintf(&b, "Tree=%d\n%s\n", t, syntheticTree(rng, nLeaves, nFeatures))
	}
	b.WriteString("end of trees\n")
	return b.String()
}

func syntheticTree(rng *rand.Rand, nLeaves, nFeatures int) string {
	n := nLeaves - 1
	left, right, parent := make([]int, n), make([]int, n), make([]int, nLeaves)
	parent[0] = -1
	for s := range n {
		leaf := rng.IntN(s + 1)
		if p := parent[leaf]; p >= 0 {
			if left[p] == ^leaf {
				left[p] = s
			} else {
				right[p] = s
			}
		}
		left[s], right[s] = ^leaf, ^(s + 1)
		parent[leaf], parent[s+1] = s, s
	}
	feature, threshold, decision := make([]int, n), make([]string, n), make([]int, n)
	var words []string
	for i := range n {
		feature[i] = rng.IntN(nFeatures)
		if feature[i] == 0 {
			decision[i] = 1
			threshold[i] = fmt.Sprint(len(words) / 2)
			words = append(words, fmt.Sprint(rng.Uint32()), fmt.Sprint(rng.Uint32()&0xff))
			continue
		}
		decision[i] = []int{0, 2, 8, 10}[rng.IntN(4)]
		threshold[i] = fmt.Sprint(rng.NormFloat64())
	}
	leaves := make([]float64, nLeaves)
	for i := range leaves {
		leaves[i] = rng.NormFloat64()
	}
	bounds := make([]int, len(words)/2+1)
	for i := range bounds {
		bounds[i] = 2 * i
	}
	return fmt.Sprintf("num_leaves=%d\nnum_cat=%d\nsplit_feature=%s\nthreshold=%s\ndecision_type=%s\nleft_child=%s\nright_child=%s\nleaf_value=%s\ncat_boundaries=%s\ncat_threshold=%s\nis_linear=0\nshrinkage=0.05\n",
		nLeaves, len(words)/2, join(feature), strings.Join(threshold, " "), join(decision), join(left), join(right),
		join(leaves), join(bounds), strings.Join(words, " "))
}

func join[T any](xs []T) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = fmt.Sprint(x)
	}
	return strings.Join(s, " ")
}

func mustSynthetic(b *testing.B) (*lightgbm.Model, [][]float64) {
	m, err := lightgbm.Parse(strings.NewReader(syntheticModel(200, 31, 5)))
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	rows := make([][]float64, 1024)
	for i := range rows {
		rows[i] = []float64{float64(rng.IntN(40)), rng.NormFloat64(), rng.NormFloat64(), rng.NormFloat64(), rng.NormFloat64()}
	}
	return m, rows
}

// BenchmarkPredict measures one row through 200 trees of 31 leaves.
func BenchmarkPredict(b *testing.B) {
	m, rows := mustSynthetic(b)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := m.PredictRow(rows[i%len(rows)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkPredictBatch measures 1024 rows a call.
func BenchmarkPredictBatch(b *testing.B) {
	m, rows := mustSynthetic(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.PredictBatch(rows); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPredictBatchSmall measures PredictBatch on 1, 4 and 16 rows, the
// sizes of single-instance and small requests to the gateway.
func BenchmarkPredictBatchSmall(b *testing.B) {
	m, rows := mustSynthetic(b)
	benchBatchSizes(b, m, rows, 1, 4, 16)
}

// benchBatchSizes runs a sub-benchmark of PredictBatch per size, on windows
// of rows that move along rows, reporting ns/row.
func benchBatchSizes(b *testing.B, m *lightgbm.Model, rows [][]float64, sizes ...int) {
	for _, n := range sizes {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				lo := i % (len(rows) - n)
				if _, err := m.PredictBatch(rows[lo : lo+n]); err != nil {
					b.Fatal(err)
				}
				i++
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/row")
		})
	}
}

// BenchmarkPredictExample measures PredictBatch on rows of 1 and 100 of
// the example's v2 model (200 trees of 31 leaves, a categorical store_id),
// the model and request sizes of BENCHMARKS.md's gateway figures.
func BenchmarkPredictExample(b *testing.B) {
	m := mustParseFile(b, "../examples/demand-forecast/models/v2/model.lgb")
	rng := rand.New(rand.NewPCG(7, 8))
	rows := make([][]float64, 1000)
	for i := range rows {
		doy := float64(1 + rng.IntN(365))
		rows[i] = []float64{float64(1 + rng.IntN(40)), float64(rng.IntN(2)), float64(rng.IntN(7)), doy, float64(1 + int(doy-1)/31)}
	}
	benchBatchSizes(b, m, rows, 1, 100)
}

// BenchmarkParse measures loading the same model from text.
func BenchmarkParse(b *testing.B) {
	text := syntheticModel(200, 31, 5)
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		if _, err := lightgbm.Parse(strings.NewReader(text)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPredictFile measures PredictBatch on the model and rows
// scripts/bench-evaluator writes: MODELGATE_BENCH_MODEL (a text model),
// MODELGATE_BENCH_ROWS (one row per line) and MODELGATE_BENCH_WANT
// (LightGBM's prediction of each). It first checks every prediction equals
// LightGBM's to 1e-12 relative, so a fast wrong evaluator cannot post a
// figure. One op is the whole batch; the script divides.
func BenchmarkPredictFile(b *testing.B) {
	modelPath, rowsPath := os.Getenv("MODELGATE_BENCH_MODEL"), os.Getenv("MODELGATE_BENCH_ROWS")
	if modelPath == "" || rowsPath == "" {
		b.Skip("set MODELGATE_BENCH_MODEL, MODELGATE_BENCH_ROWS and MODELGATE_BENCH_WANT (scripts/bench-evaluator does)")
	}
	m := mustParseFile(b, modelPath)
	rows := mustReadCSV(b, rowsPath)
	want := mustReadCSV(b, os.Getenv("MODELGATE_BENCH_WANT"))
	out := make([]float64, len(rows)*m.NumOutputs())
	if err := m.PredictBatchInto(rows, out); err != nil {
		b.Fatal(err)
	}
	for i, w := range want {
		for k, v := range w {
			if d := relDiff(out[i*m.NumOutputs()+k], v); d > fidelityTolerance {
				b.Fatalf("row %d output %d: got %v, LightGBM %v", i, k, out[i*m.NumOutputs()+k], v)
			}
		}
	}
	b.ReportMetric(float64(len(rows)), "rows/op")
	for b.Loop() {
		if err := m.PredictBatchInto(rows, out); err != nil {
			b.Fatal(err)
		}
	}
}

// mustReadCSV reads rows of repr()-written floats.
func mustReadCSV(tb testing.TB, path string) [][]float64 {
	tb.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	var rows [][]float64
	for i, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var row []float64
		for _, s := range strings.Split(line, ",") {
			v, err := strconv.ParseFloat(s, 64)
			if err != nil {
				tb.Fatalf("%s line %d: %v", path, i+1, err)
			}
			row = append(row, v)
		}
		rows = append(rows, row)
	}
	return rows
}

// BenchmarkPredictBatchInto measures the batch path on 8192 rows of the
// synthetic model, with a reused output slice; -cpu 1 keeps it on one
// goroutine, larger -cpu values show the split over goroutines.
func BenchmarkPredictBatchInto(b *testing.B) {
	m, rows := mustSynthetic(b)
	for len(rows) < 8192 {
		rows = append(rows, rows...)
	}
	out := make([]float64, len(rows))
	b.ReportAllocs()
	for b.Loop() {
		if err := m.PredictBatchInto(rows, out); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(rows))*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkPredictBatchRaw_Multiclass measures raw scores of a multiclass
// model (testdata/multiclass.txt, 4 classes) over 4096 rows.
func BenchmarkPredictBatchRaw_Multiclass(b *testing.B) {
	m := mustParseFile(b, "testdata/multiclass.txt")
	rng := rand.New(rand.NewPCG(5, 6))
	rows := make([][]float64, 4096)
	for i := range rows {
		rows[i] = []float64{rng.NormFloat64(), rng.NormFloat64(), rng.NormFloat64(), rng.NormFloat64()}
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.PredictBatchRaw(rows); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPredictBatch100_DemandForecast measures what the gateway does for
// a request of 100 instances: PredictBatchInto on 100 rows of the
// demand-forecast example's v2 model (200 trees of 31 leaves, store_id
// categorical over 40 stores), with a reused output slice, reporting ns/row.
func BenchmarkPredictBatch100_DemandForecast(b *testing.B) {
	m := mustParseFile(b, "../examples/demand-forecast/models/v2/model.lgb")
	rng := rand.New(rand.NewPCG(7, 8))
	rows := make([][]float64, 100)
	for i := range rows {
		day := 1 + rng.IntN(366)
		rows[i] = []float64{float64(rng.IntN(40)), float64(rng.IntN(2)), float64(rng.IntN(7)), float64(day), float64(1 + (day-1)/31)}
	}
	out := make([]float64, len(rows))
	b.ReportAllocs()
	for b.Loop() {
		if err := m.PredictBatchInto(rows, out); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(rows)), "ns/row")
}
