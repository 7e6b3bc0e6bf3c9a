package grafana

// panel is one Classic panel (or row).
type panel map[string]any

// layout places panels left to right, two per row of height 8, with a row
// header before each group.
type layout struct {
	panels []panel
	x, y   int
	id     int
}

func (l *layout) nextID() int {
	l.id++
	return l.id
}

func (l *layout) row(title string) {
	if l.x > 0 {
		l.x, l.y = 0, l.y+8
	}
	l.panels = append(l.panels, panel{"type": "row", "title": title, "id": l.nextID(), "collapsed": false,
		"gridPos": map[string]int{"h": 1, "w": 24, "x": 0, "y": l.y}, "panels": []any{}})
	l.y++
}

func (l *layout) add(ps ...panel) {
	for _, p := range ps {
		p["id"] = l.nextID()
		p["gridPos"] = map[string]int{"h": 8, "w": 12, "x": l.x, "y": l.y}
		l.panels = append(l.panels, p)
		if l.x == 0 {
			l.x = 12
		} else {
			l.x, l.y = 0, l.y+8
		}
	}
}

func timeseries(title, unit string, targets ...map[string]any) panel {
	for i, t := range targets {
		t["refId"] = string(rune('A' + i))
	}
	return panel{"type": "timeseries", "title": title, "datasource": ds, "targets": targets,
		"fieldConfig": map[string]any{"defaults": map[string]any{"unit": unit}, "overrides": []any{}},
		"options":     map[string]any{"legend": map[string]any{"displayMode": "list", "placement": "bottom"}, "tooltip": map[string]any{"mode": "multi"}}}
}

func target(expr, legend string) map[string]any {
	return map[string]any{"datasource": ds, "expr": expr, "legendFormat": legend}
}
