package chart

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// The drawing: a fixed-size SVG with a title, a legend, a grid with tick
// labels on both axes, and one path per line. Text is left to the viewer's
// fonts, so nothing is measured here.
const (
	width, height            = 700.0, 280.0
	left, right, top, bottom = 64.0, 16.0, 48.0, 40.0
	plotWidth, plotHeight    = width - left - right, height - top - bottom
	ticks                    = 5
)

// point is one (x, y) of a line, in data units.
type point struct{ X, Y float64 }

// path is one drawn line.
type path struct {
	points []point
	color  string
	width  float64
	dash   string // stroke-dasharray; "" for solid
}

// legendEntry names a line's colour and dash.
type legendEntry struct {
	label, color, dash string
}

// canvas is one chart being drawn.
type canvas struct {
	title, xLabel, yLabel string
	paths                 []path
	legend                []legendEntry
}

// bounds are the data's extent, with y from 0 and never empty.
func (c *canvas) bounds() (x0, x1, y0, y1 float64) {
	x0, x1, y0, y1 = math.Inf(1), math.Inf(-1), 0, math.Inf(-1)
	for _, p := range c.paths {
		for _, q := range p.points {
			x0, x1 = math.Min(x0, q.X), math.Max(x1, q.X)
			y0, y1 = math.Min(y0, q.Y), math.Max(y1, q.Y)
		}
	}
	if x1 <= x0 {
		x0, x1 = x0-0.5, x0+0.5
	}
	if y1 <= y0 {
		y1 = y0 + 1
	}
	return x0, x1, y0, niceCeil(y1 * 1.05)
}

// svg renders the chart.
func (c *canvas) svg() []byte {
	x0, x1, y0, y1 := c.bounds()
	sx := func(x float64) float64 { return left + (x-x0)/(x1-x0)*plotWidth }
	sy := func(y float64) float64 { return top + plotHeight - (y-y0)/(y1-y0)*plotHeight }
	var b bytes.Buffer
	fmt.Fprintf(&b, `<?xml version="1.0" encoding="UTF-8"?>`+"\n")
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%g" height="%g" viewBox="0 0 %g %g" font-family="sans-serif" font-size="11">`+"\n", width, height, width, height)
	fmt.Fprintf(&b, `<rect width="%g" height="%g" fill="#fff"/>`+"\n", width, height)
	fmt.Fprintf(&b, `<text x="%g" y="18" font-size="14" font-weight="bold">%s</text>`+"\n", left, esc(c.title))
	c.grid(&b, x0, x1, y0, y1, sx, sy)
	for _, p := range c.paths {
		fmt.Fprintf(&b, `<path d="%s" fill="none" stroke="%s" stroke-width="%g"%s/>`+"\n", pathData(p.points, sx, sy), p.color, p.width, dashAttr(p.dash))
	}
	c.drawLegend(&b)
	b.WriteString("</svg>\n")
	return b.Bytes()
}

// grid draws the axes' grid lines, tick labels and axis labels.
func (c *canvas) grid(b *bytes.Buffer, x0, x1, y0, y1 float64, sx, sy func(float64) float64) {
	for i := 0; i <= ticks; i++ {
		y := y0 + (y1-y0)*float64(i)/ticks
		fmt.Fprintf(b, `<line x1="%g" y1="%.1f" x2="%g" y2="%.1f" stroke="#ddd"/>`, left, sy(y), width-right, sy(y))
		fmt.Fprintf(b, `<text x="%g" y="%.1f" text-anchor="end">%s</text>`+"\n", left-6, sy(y)+4, label(y))
		x := x0 + (x1-x0)*float64(i)/ticks
		fmt.Fprintf(b, `<line x1="%.1f" y1="%g" x2="%.1f" y2="%g" stroke="#eee"/>`, sx(x), top, sx(x), top+plotHeight)
		fmt.Fprintf(b, `<text x="%.1f" y="%g" text-anchor="middle">%s</text>`+"\n", sx(x), top+plotHeight+14, label(x))
	}
	fmt.Fprintf(b, `<text x="%g" y="%g" text-anchor="middle">%s</text>`+"\n", left+plotWidth/2, height-6, esc(c.xLabel))
	fmt.Fprintf(b, `<text x="14" y="%g" text-anchor="middle" transform="rotate(-90 14 %g)">%s</text>`+"\n", top+plotHeight/2, top+plotHeight/2, esc(c.yLabel))
}

// drawLegend lists the lines' names in a row under the title.
func (c *canvas) drawLegend(b *bytes.Buffer) {
	x := left
	for _, e := range c.legend {
		fmt.Fprintf(b, `<line x1="%g" y1="34" x2="%g" y2="34" stroke="%s" stroke-width="2"%s/>`, x, x+18, e.color, dashAttr(e.dash))
		fmt.Fprintf(b, `<text x="%g" y="38">%s</text>`+"\n", x+22, esc(e.label))
		x += 34 + 7*float64(len(e.label))
	}
}

func pathData(ps []point, sx, sy func(float64) float64) string {
	var d strings.Builder
	for i, p := range ps {
		cmd := "L"
		if i == 0 {
			cmd = "M"
		}
		fmt.Fprintf(&d, "%s%.1f %.1f ", cmd, sx(p.X), sy(p.Y))
	}
	return strings.TrimSpace(d.String())
}

func dashAttr(dash string) string {
	if dash == "" {
		return ""
	}
	return ` stroke-dasharray="` + dash + `"`
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten, for tick labels
// people can read.
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}

// label writes a tick value briefly.
func label(v float64) string {
	if v != 0 && math.Abs(v) < 0.01 {
		return strconv.FormatFloat(v, 'g', 2, 64)
	}
	return strconv.FormatFloat(math.Round(v*100)/100, 'f', -1, 64)
}

// esc makes text safe inside SVG: titles carry input names from the model.
func esc(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}
