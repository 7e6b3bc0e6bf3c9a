package xgboost_test

import (
	"path/filepath"
	"testing"

	"github.com/modelgate/modelgate/xgboost"
)

// BenchmarkPredict times one row through generated models (see gen.py):
// the 120-stump regression, the depth-8 regression and the 3-class
// softprob.
func BenchmarkPredict(b *testing.B) {
	for _, name := range []string{"squarederror_stumps", "squarederror_d8_nan", "softprob_3"} {
		b.Run(name, func(b *testing.B) {
			m, err := xgboost.ParseFile(filepath.Join(mustGenerateB(b), name+".ubj"))
			if err != nil {
				b.Fatal(err)
			}
			row := []float64{0.5, -1.2, 2.0, 0.1, -0.7}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := m.Predict(row); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
