package mlmodel

import (
	"testing"
	"time"

	"github.com/modelgate/modelgate/mlmodelfile"
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

// TestCompile_DaysSince compiles a days_since feature: its origin is read
// in the transform's date format.
func TestCompile_DaysSince(t *testing.T) {
	ft := &mlmodelfile.FeatureTransform{DateFormat: "2006-01-02", Features: []mlmodelfile.FeatureSpec{
		{Name: "d", Source: "date", Op: mlmodelfile.OpDaysSince, Origin: "2023-01-01"}}}
	c, err := compile(ft, []string{"d"})
	if err != nil {
		t.Fatal(err)
	}
	if got := c.features[0].origin; !got.Equal(time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("origin %v", got)
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
