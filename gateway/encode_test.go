package gateway

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/modelgate/modelgate/wire"
)

// floats are edge values of encoding/json's float format.
func floats(rng *rand.Rand) []float64 {
	fs := []float64{0, math.Copysign(0, -1), 1, -1, 0.1, 1e-6, 9.99999e-7, 1e-7, 1.5e-9, 1e20, 1e21, 9.999e20, -1e21,
		123456789012345680, 5e-324, math.MaxFloat64, -math.MaxFloat64, math.SmallestNonzeroFloat64, 1e-10, 1e-100, 102.16650673435046}
	for range 5000 {
		f := math.Float64frombits(rng.Uint64())
		if !math.IsNaN(f) && !math.IsInf(f, 0) {
			fs = append(fs, f)
		}
		fs = append(fs, rng.NormFloat64()*math.Pow(10, float64(rng.IntN(60)-30)))
	}
	return fs
}

func TestV1Predictions_AsEncoder(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	fs := floats(rng)
	for _, preds := range [][]float64{nil, {}, {1}, fs[:30], fs} {
		var want bytes.Buffer
		if err := json.NewEncoder(&want).Encode(wire.V1Response{Predictions: preds}); err != nil {
			t.Fatal(err)
		}
		if got := v1Predictions(preds).appendJSON(nil); !bytes.Equal(got, want.Bytes()) {
			t.Errorf("%d predictions: got\n%s\nwant\n%s", len(preds), got, want.Bytes())
		}
	}
}

func TestAppendValue_AsMarshal(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	values := []any{nil, true, false, "", "plain", `q"uote`, `back\slash`, "<a&b>", "tab\tnl\n", "\x00\x1f\x7f", "caf\u00e9",
		"bad \xff utf8", "\u2028\u2029", []any{}, map[string]any{}, []any{1.0, "x", nil, []any{map[string]any{"b": 1.0, "a": 2.0}}},
		map[string]any{"store_id": 17.0, "date": "2025-01-01", "promo": 0.0, "z": map[string]any{"y": []any{true}}, "é": 1.0, "<": 2.0}}
	for _, f := range floats(rng) {
		values = append(values, f, []any{f, -f})
	}
	// Decoded bodies: what recordRecent is given.
	for _, b := range v1Bodies() {
		if inst, err := decodeOld([]byte(b)); err == nil {
			values = append(values, inst...)
		}
	}
	for _, v := range values {
		want, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := appendValue([]byte("prefix"), v)
		if !ok || string(got) != "prefix"+string(want) {
			t.Errorf("%#v: got %s (%v), want %s", v, got, ok, want)
		}
	}
	for _, v := range []any{math.NaN(), math.Inf(1), []any{math.Inf(-1)}, map[string]any{"a": math.NaN()}, 1, struct{}{}} {
		if _, ok := appendValue(nil, v); ok {
			t.Errorf("%#v: appended, want it left to encoding/json", v)
		}
	}
}

// FuzzAppendString compares string quoting with json.Marshal's.
func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "a", `"`, "\\", "<>&", "\u2028", "\xff", "\x00", "caf\u00e9"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, _ := json.Marshal(s)
		if got := appendString(nil, s); !bytes.Equal(got, want) {
			t.Errorf("%q: got %s, want %s", s, got, want)
		}
	})
}
