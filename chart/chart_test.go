package chart

import (
	"encoding/xml"
	"strings"
	"testing"
	"time"

	"github.com/modelgate/modelgate"
)

func TestSeries_OneValidSVGPerFigureWithData(t *testing.T) {
	t0 := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	var pts []modelgate.SeriesPoint
	for i := range 10 {
		pts = append(pts, modelgate.SeriesPoint{At: t0.Add(time.Duration(i) * 30 * time.Second),
			Canary:     modelgate.PointFigures{Requests: int64(10 * i), ErrorRate: 0.01, P95MS: 120 + float64(i)},
			Production: modelgate.PointFigures{Requests: int64(90 * i), ErrorRate: 0.002, P95MS: 100}})
	}
	charts, err := Series("window_", t0, pts)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range charts {
		names = append(names, c.Name)
		if err := xml.Unmarshal(c.SVG, new(struct{})); err != nil {
			t.Errorf("%s is not XML: %v", c.Name, err)
		}
		if !strings.Contains(string(c.SVG), "canary") || !strings.Contains(string(c.SVG), "production") {
			t.Errorf("%s has no legend for both arms", c.Name)
		}
	}
	// No predictions were measured: no prediction chart rather than a flat zero.
	if got := strings.Join(names, " "); got != "window_latency_p95.svg window_error_rate.svg window_requests.svg" {
		t.Errorf("charts %s", got)
	}
}
