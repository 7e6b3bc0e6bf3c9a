package chart

import (
	"bytes"
	"fmt"
	"image/color"
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
	Name  string // file name, e.g. "latency_p95.svg"
	Title string
	SVG   []byte
}

// metric is one figure of a series point.
type metric struct {
	name, title, unit string
	value             func(modelgate.PointFigures) (float64, bool)
}

var metrics = []metric{
	{"latency_p95", "p95 latency", "ms", func(f modelgate.PointFigures) (float64, bool) { return f.P95MS, f.Requests > 0 }},
	{"error_rate", "Error rate", "%", func(f modelgate.PointFigures) (float64, bool) { return 100 * f.ErrorRate, f.Requests > 0 }},
	{"prediction_mean", "Mean prediction", "", func(f modelgate.PointFigures) (float64, bool) { return f.PredictionMean, f.Predictions > 0 }},
	{"requests", "Requests measured", "count", func(f modelgate.PointFigures) (float64, bool) { return float64(f.Requests), true }},
}

// Colours: production in a dark neutral, the canary in an accent.
var (
	production = color.RGBA{R: 0x33, G: 0x33, B: 0x33, A: 0xff}
	canary     = color.RGBA{R: 0xd9, G: 0x5f, B: 0x02, A: 0xff}
)

// Series draws every figure of points that has data, one chart each,
// with minutes since start on the x axis. prefix names the files
// ("window_", "bake_").
func Series(prefix string, start time.Time, points []modelgate.SeriesPoint) ([]Chart, error) {
	var out []Chart
	for _, m := range metrics {
		prod, can := line(points, start, m, func(p modelgate.SeriesPoint) modelgate.PointFigures { return p.Production }),
			line(points, start, m, func(p modelgate.SeriesPoint) modelgate.PointFigures { return p.Canary })
		if len(prod) == 0 && len(can) == 0 {
			continue
		}
		svg, err := draw2(m, prod, can)
		if err != nil {
			return nil, fmt.Errorf("draw %s: %w", m.name, err)
		}
		out = append(out, Chart{Name: prefix + m.name + ".svg", Title: m.title, SVG: svg})
	}
	return out, nil
}

func line(points []modelgate.SeriesPoint, start time.Time, m metric, of func(modelgate.SeriesPoint) modelgate.PointFigures) plotter.XYs {
	var xy plotter.XYs
	for _, p := range points {
		if v, ok := m.value(of(p)); ok {
			xy = append(xy, plotter.XY{X: p.At.Sub(start).Minutes(), Y: v})
		}
	}
	return xy
}

func draw2(m metric, prod, can plotter.XYs) ([]byte, error) {
	p := plot.New()
	p.Title.Text = m.title
	p.X.Label.Text = "minutes"
	p.Y.Label.Text = m.unit
	p.Y.Min = 0
	p.Add(plotter.NewGrid())
	for _, s := range []struct {
		name string
		xy   plotter.XYs
		c    color.Color
	}{{"production", prod, production}, {"canary", can, canary}} {
		if len(s.xy) == 0 {
			continue
		}
		l, err := plotter.NewLine(s.xy)
		if err != nil {
			return nil, err
		}
		l.Color, l.Width = s.c, vg.Points(1.5)
		p.Add(l)
		p.Legend.Add(s.name, l)
	}
	p.Legend.Top = true
	c := vgsvg.New(7*vg.Inch, 2.8*vg.Inch)
	p.Draw(draw.New(c))
	var b bytes.Buffer
	if _, err := c.WriteTo(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
