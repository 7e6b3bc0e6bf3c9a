package chart

import (
	"maps"
	"slices"
	"time"

	"github.com/modelgate/modelgate"
)

// Chart is one drawn figure.
type Chart struct {
	Name  string // file name, e.g. "latency.svg"
	Title string
	SVG   []byte
}

// figure is one chart of a series: its lines per arm.
type figure struct {
	name, title, unit string
	lines             []curve
	// limit, when set, is drawn as a horizontal line (an alert level).
	limit float64
}

// curve is one line of a figure for each arm: a value of a point's
// figures (ok false where it has none) and how it is dashed.
type curve struct {
	label string
	dash  string // stroke-dasharray; "" for solid
	width float64
	value func(modelgate.PointFigures) (float64, bool)
}

// Dashes: p50 and the error band dashed, p99 dotted.
const (
	dashed = "6 4"
	dotted = "1.5 3"
)

// figures are the charts drawn from a series: the latency quantiles, the
// error rate with its 95% band, the mean prediction, the requests, and
// each input's drift.
func figures(points []modelgate.SeriesPoint) []figure {
	has := func(f modelgate.PointFigures) bool { return f.Requests > 0 }
	out := []figure{
		{name: "latency", title: "Latency (p50 dashed, p95, p99 dotted)", unit: "ms", lines: []curve{
			{"p50", dashed, 1, func(f modelgate.PointFigures) (float64, bool) { return f.P50MS, has(f) && f.P50MS > 0 }},
			{"p95", "", 1.5, func(f modelgate.PointFigures) (float64, bool) { return f.P95MS, has(f) }},
			{"p99", dotted, 1, func(f modelgate.PointFigures) (float64, bool) { return f.P99MS, has(f) && f.P99MS > 0 }}}},
		{name: "error_rate", title: "Error rate (dashed: 95% interval)", unit: "%", lines: []curve{
			{"", "", 1.5, func(f modelgate.PointFigures) (float64, bool) { return 100 * f.ErrorRate, has(f) }},
			{"low", dashed, 0.5, func(f modelgate.PointFigures) (float64, bool) { return 100 * f.ErrorLow, has(f) && f.ErrorHigh > 0 }},
			{"high", dashed, 0.5, func(f modelgate.PointFigures) (float64, bool) { return 100 * f.ErrorHigh, has(f) && f.ErrorHigh > 0 }}}},
		{name: "prediction_mean", title: "Mean prediction", lines: []curve{
			{"", "", 1.5, func(f modelgate.PointFigures) (float64, bool) { return f.PredictionMean, f.Predictions > 0 }}}},
		{name: "requests", title: "Requests measured", unit: "count", lines: []curve{
			{"", "", 1.5, func(f modelgate.PointFigures) (float64, bool) { return float64(f.Requests), true }}}},
	}
	for _, in := range driftInputs(points) {
		out = append(out, figure{name: "drift_" + in, title: "Drift of " + in + " (1 = alert level)", unit: "share of the alert level", limit: 1,
			lines: []curve{{"", "", 1.5, func(f modelgate.PointFigures) (float64, bool) { v, ok := f.Drift[in]; return v, ok }}}})
	}
	return out
}

// driftInputs are the inputs whose drift any point measured, sorted.
func driftInputs(points []modelgate.SeriesPoint) []string {
	seen := map[string]bool{}
	for _, p := range points {
		for _, f := range []modelgate.PointFigures{p.Canary, p.Production} {
			for in := range f.Drift {
				seen[in] = true
			}
		}
	}
	return slices.Sorted(maps.Keys(seen))
}

// Colours: production in a dark neutral, the canary in an accent, an
// alert level in red.
const (
	production = "#333333"
	canary     = "#d95f02"
	limitColor = "#b00020"
)

// Series draws every figure of points that has data, one chart each,
// with minutes since start on the x axis. prefix names the files
// ("window_", "bake_").
func Series(prefix string, start time.Time, points []modelgate.SeriesPoint) []Chart {
	var out []Chart
	for _, f := range figures(points) {
		if svg, ok := draw2(f, points, start); ok {
			out = append(out, Chart{Name: prefix + f.name + ".svg", Title: f.title, SVG: svg})
		}
	}
	return out
}

func line(points []modelgate.SeriesPoint, start time.Time, c curve, of func(modelgate.SeriesPoint) modelgate.PointFigures) []point {
	var xy []point
	for _, p := range points {
		if v, ok := c.value(of(p)); ok && !isBad(v) {
			xy = append(xy, point{X: p.At.Sub(start).Minutes(), Y: v})
		}
	}
	return xy
}

// draw2 draws f's lines for production and the canary; ok is false when
// no point has a value.
func draw2(f figure, points []modelgate.SeriesPoint, start time.Time) (svg []byte, ok bool) {
	c := &canvas{title: f.title, xLabel: "minutes", yLabel: f.unit}
	arms := []struct {
		name  string
		of    func(modelgate.SeriesPoint) modelgate.PointFigures
		color string
	}{{"production", func(s modelgate.SeriesPoint) modelgate.PointFigures { return s.Production }, production},
		{"canary", func(s modelgate.SeriesPoint) modelgate.PointFigures { return s.Canary }, canary}}
	for _, arm := range arms {
		named := false
		for _, cv := range f.lines {
			xy := line(points, start, cv, arm.of)
			if len(xy) == 0 {
				continue
			}
			c.paths = append(c.paths, path{points: xy, color: arm.color, width: cv.width, dash: cv.dash})
			if !named {
				c.legend = append(c.legend, legendEntry{label: arm.name, color: arm.color})
				named = true
			}
		}
	}
	if len(c.paths) == 0 {
		return nil, false
	}
	if f.limit > 0 {
		end := points[len(points)-1].At.Sub(start).Minutes()
		c.paths = append(c.paths, path{points: []point{{0, f.limit}, {end, f.limit}}, color: limitColor, width: 1, dash: dashed})
		c.legend = append(c.legend, legendEntry{label: "alert level", color: limitColor, dash: dashed})
	}
	return c.svg(), true
}

// isBad reports a value that cannot be drawn.
func isBad(v float64) bool { return v != v || v > 1e300 || v < -1e300 }
