package mlmodel

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestDaysSince(t *testing.T) {
	origin := time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		t    time.Time
		want int64
	}{
		{time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC), 0},
		{time.Date(2025, 1, 15, 0, 0, 0, 0, time.UTC), 745},
		{time.Date(2023, 1, 1, 23, 59, 59, 999, time.UTC), 0},
		{time.Date(2022, 12, 31, 23, 0, 0, 0, time.UTC), -1}, // rounded down, like pandas
		{time.Date(2022, 12, 31, 0, 0, 0, 0, time.UTC), -1},
		{time.Date(2022, 12, 30, 23, 59, 59, 0, time.UTC), -2},
		{time.Date(2023, 1, 1, 0, 0, 0, 0, time.FixedZone("UTC+14", 14*3600)), 0}, // wall clock, not instant
		{time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), -738520},                       // beyond time.Duration's range
	}
	for _, tt := range tests {
		if got := daysSince(origin, tt.t); got != tt.want {
			t.Errorf("daysSince(%v) = %d, want %d", tt.t, got, tt.want)
		}
	}
}

// TestDecodeTransform_UnquotedDates checks YAML timestamps decode as text,
// whether or not whoever wrote MLmodel quoted them.
func TestDecodeTransform_UnquotedDates(t *testing.T) {
	text := `
metadata:
  modelgate:
    feature_transform:
      date_format: 2006-01-02
      features:
        - {name: d, source: date, op: days_since, origin: 2023-01-01}
`
	got, err := decodeTransform([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	want := &FeatureTransform{DateFormat: "2006-01-02", Features: []FeatureSpec{{Name: "d", Source: "date", Op: "days_since", Origin: "2023-01-01"}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("transform (-want +got):\n%s", diff)
	}
	if _, err := got.compile([]string{"d"}); err != nil {
		t.Error(err)
	}
}

func TestCheckLayout(t *testing.T) {
	for layout, ok := range map[string]bool{
		"2006-01-02": true, "02/01/2006": true, "Jan 2, 2006": true, time.RFC3339: true,
		"%Y-%m-%d": false, "01-02": false, "2006-01": false, "": false,
	} {
		if err := checkLayout(layout); (err == nil) != ok {
			t.Errorf("checkLayout(%q) = %v, want ok=%v", layout, err, ok)
		}
	}
}
