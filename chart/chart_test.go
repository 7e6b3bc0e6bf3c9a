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
	charts := Series("window_", t0, pts)
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
	if got := strings.Join(names, " "); got != "window_latency.svg window_error_rate.svg window_requests.svg" {
		t.Errorf("charts %s", got)
	}
}

// The latency chart has every quantile measured, the error rate its band,
// and each input measured a drift chart with the alert level.
func TestSeries_QuantilesBandAndDrift(t *testing.T) {
	t0 := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	var pts []modelgate.SeriesPoint
	for i := range 5 {
		f := modelgate.PointFigures{Requests: 100, ErrorRate: 0.01, ErrorLow: 0.002, ErrorHigh: 0.05, P50MS: 10, P95MS: 40, P99MS: 90,
			Drift: map[string]float64{"promo": 0.2 * float64(i)}}
		pts = append(pts, modelgate.SeriesPoint{At: t0.Add(time.Duration(i) * time.Minute), Canary: f, Production: f})
	}
	charts := Series("bake_", t0, pts)
	byName := map[string]string{}
	for _, c := range charts {
		byName[c.Name] = string(c.SVG)
	}
	// Each arm draws its lines as one SVG path apiece.
	for name, paths := range map[string]int{"bake_latency.svg": 6, "bake_error_rate.svg": 6, "bake_drift_promo.svg": 3} {
		svg, ok := byName[name]
		if !ok {
			t.Fatalf("no %s among %v", name, byName)
		}
		if got := strings.Count(svg, "stroke-dasharray"); name != "bake_drift_promo.svg" && got == 0 {
			t.Errorf("%s draws no dashed line", name)
		}
		if got := strings.Count(svg, "<path"); got < paths {
			t.Errorf("%s has %d paths, fewer than its %d lines", name, got, paths)
		}
	}
	if !strings.Contains(byName["bake_drift_promo.svg"], "alert level") {
		t.Error("the drift chart does not mark the alert level")
	}
}
