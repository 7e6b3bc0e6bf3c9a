package chart

import (
	"bytes"
	"fmt"
	"image/color"
	"sort"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"

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
	dash  []vg.Length
	width vg.Length
	value func(modelgate.PointFigures) (float64, bool)
}

var (
	dashed = []vg.Length{vg.Points(4), vg.Points(3)}
	dotted = []vg.Length{vg.Points(1), vg.Points(2)}
)

// figures are the charts drawn from a series: the latency quantiles, the
// error rate with its 95% band, the mean prediction, the requests, and
// each input's drift.
func figures(points []modelgate.SeriesPoint) []figure {
	has := func(f modelgate.PointFigures) bool { return f.Requests > 0 }
	out := []figure{
		{name: "latency", title: "Latency (p50 dashed, p95, p99 dotted)", unit: "ms", lines: []curve{
			{"p50", dashed, 1, func(f modelgate.PointFigures) (float64, bool) { return f.P50MS, has(f) && f.P50MS > 0 }},
			{"p95", nil, 1.5, func(f modelgate.PointFigures) (float64, bool) { return f.P95MS, has(f) }},
			{"p99", dotted, 1, func(f modelgate.PointFigures) (float64, bool) { return f.P99MS, has(f) && f.P99MS > 0 }}}},
		{name: "error_rate", title: "Error rate (dashed: 95% interval)", unit: "%", lines: []curve{
			{"", nil, 1.5, func(f modelgate.PointFigures) (float64, bool) { return 100 * f.ErrorRate, has(f) }},
			{"low", dashed, 0.5, func(f modelgate.PointFigures) (float64, bool) { return 100 * f.ErrorLow, has(f) && f.ErrorHigh > 0 }},
			{"high", dashed, 0.5, func(f modelgate.PointFigures) (float64, bool) { return 100 * f.ErrorHigh, has(f) && f.ErrorHigh > 0 }}}},
		{name: "prediction_mean", title: "Mean prediction", lines: []curve{
			{"", nil, 1.5, func(f modelgate.PointFigures) (float64, bool) { return f.PredictionMean, f.Predictions > 0 }}}},
		{name: "requests", title: "Requests measured", unit: "count", lines: []curve{
			{"", nil, 1.5, func(f modelgate.PointFigures) (float64, bool) { return float64(f.Requests), true }}}},
	}
	for _, in := range driftInputs(points) {
		out = append(out, figure{name: "drift_" + in, title: "Drift of " + in + " (1 = alert level)", unit: "share of the alert level", limit: 1,
			lines: []curve{{"", nil, 1.5, func(f modelgate.PointFigures) (float64, bool) { v, ok := f.Drift[in]; return v, ok }}}})
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
	out := make([]string, 0, len(seen))
	for in := range seen {
		out = append(out, in)
	}
	sort.Strings(out)
	return out
}

// Colours: production in a dark neutral, the canary in an accent.
var (
	production = color.RGBA{R: 0x33, G: 0x33, B: 0x33, A: 0xff}
	canary     = color.RGBA{R: 0xd9, G: 0x5f, B: 0x02, A: 0xff}
	limitColor = color.RGBA{R: 0xb0, G: 0x00, B: 0x20, A: 0xff}
)

// Series draws every figure of points that has data, one chart each,
// with minutes since start on the x axis. prefix names the files
// ("window_", "bake_").
func Series(prefix string, start time.Time, points []modelgate.SeriesPoint) ([]Chart, error) {
	var out []Chart
	for _, f := range figures(points) {
		svg, ok, err := draw2(f, points, start)
		if err != nil {
			return nil, fmt.Errorf("draw %s: %w", f.name, err)
		}
		if ok {
			out = append(out, Chart{Name: prefix + f.name + ".svg", Title: f.title, SVG: svg})
		}
	}
	return out, nil
}

func line(points []modelgate.SeriesPoint, start time.Time, c curve, of func(modelgate.SeriesPoint) modelgate.PointFigures) plotter.XYs {
	var xy plotter.XYs
	for _, p := range points {
		if v, ok := c.value(of(p)); ok {
			xy = append(xy, plotter.XY{X: p.At.Sub(start).Minutes(), Y: v})
		}
	}
	return xy
}

// draw2 draws f's lines for production and the canary; ok is false when
// no point has a value.
func draw2(f figure, points []modelgate.SeriesPoint, start time.Time) (svg []byte, ok bool, err error) {
	p := plot.New()
	p.Title.Text = f.title
	p.X.Label.Text = "minutes"
	p.Y.Label.Text = f.unit
	p.Y.Min = 0
	p.Add(plotter.NewGrid())
	arms := []struct {
		name string
		of   func(modelgate.SeriesPoint) modelgate.PointFigures
		c    color.Color
	}{{"production", func(s modelgate.SeriesPoint) modelgate.PointFigures { return s.Production }, production},
		{"canary", func(s modelgate.SeriesPoint) modelgate.PointFigures { return s.Canary }, canary}}
	for _, arm := range arms {
		named := false
		for _, c := range f.lines {
			xy := line(points, start, c, arm.of)
			if len(xy) == 0 {
				continue
			}
			l, err := plotter.NewLine(xy)
			if err != nil {
				return nil, false, err
			}
			l.Color, l.Width, l.Dashes = arm.c, vg.Points(float64(c.width)), c.dash
			p.Add(l)
			if !named {
				p.Legend.Add(arm.name, l)
				named = true
			}
			ok = true
		}
	}
	if !ok {
		return nil, false, nil
	}
	if f.limit > 0 {
		if err := addLimit(p, f.limit, points, start); err != nil {
			return nil, false, err
		}
	}
	p.Legend.Top = true
	cv := vgsvg.New(7*vg.Inch, 2.8*vg.Inch)
	p.Draw(draw.New(cv))
	var b bytes.Buffer
	if _, err := cv.WriteTo(&b); err != nil {
		return nil, false, err
	}
	return b.Bytes(), true, nil
}

// addLimit draws the alert level across the series' time span.
func addLimit(p *plot.Plot, limit float64, points []modelgate.SeriesPoint, start time.Time) error {
	end := points[len(points)-1].At.Sub(start).Minutes()
	l, err := plotter.NewLine(plotter.XYs{{X: 0, Y: limit}, {X: end, Y: limit}})
	if err != nil {
		return err
	}
	l.Color, l.Width, l.Dashes = limitColor, vg.Points(1), dashed
	p.Add(l)
	p.Legend.Add("alert level", l)
	return nil
}
