package mlmodel

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/modelgate/modelgate/mlmodelfile"
)

// isoDate must read what time.Parse reads with the default layout, the
// same instant and location, and accept nothing time.Parse refuses.
func sameAsParse(t *testing.T, s string) bool {
	t.Helper()
	got, ok := isoDate(s)
	want, err := time.Parse(mlmodelfile.DefaultDateFormat, s)
	if ok && (err != nil || !got.Equal(want) || got.Location() != want.Location() || got != want) {
		t.Fatalf("%q: isoDate %v, time.Parse %v, %v", s, got, want, err)
	}
	return ok
}

func TestISODate_SameAsTimeParse(t *testing.T) {
	accepted := 0
	for d := time.Date(1899, 12, 1, 0, 0, 0, 0, time.UTC); d.Year() < 2102; d = d.AddDate(0, 0, 1) {
		if sameAsParse(t, d.Format(mlmodelfile.DefaultDateFormat)) {
			accepted++
		}
	}
	if accepted < 73000 {
		t.Fatalf("isoDate read only %d of the days 1899-2101", accepted)
	}
	for _, s := range []string{"2025-02-29", "2024-02-29", "2100-02-29", "2000-02-29", "2025-04-31", "2025-13-01",
		"2025-00-10", "2025-01-00", "2025-1-01", "2025/01/01", "+025-01-01", "2025-01-01 ", "20250101xx", "0000-01-01", "9999-12-31"} {
		sameAsParse(t, s)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	chars := []byte("0123456789-+ /:aT")
	for range 200000 {
		b := []byte("2024-02-29")
		for range 1 + rng.IntN(3) {
			b[rng.IntN(len(b))] = chars[rng.IntN(len(chars))]
		}
		sameAsParse(t, string(b))
	}
}
