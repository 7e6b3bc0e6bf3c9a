package mlmodel

import (
	"fmt"
	"strings"
	"time"

	"github.com/modelgate/modelgate/mlmodelfile"
)

// ops lists the ops in the order error messages name them.
var ops = []string{mlmodelfile.OpNumber, mlmodelfile.OpWeekday, mlmodelfile.OpDayOfYear, mlmodelfile.OpMonth,
	mlmodelfile.OpDayOfMonth, mlmodelfile.OpYear, mlmodelfile.OpDaysSince}

// transform is a FeatureTransform checked against a booster.
type transform struct {
	layout   string
	features []feature
}

type feature struct {
	mlmodelfile.FeatureSpec
	origin time.Time // days_since only
}

// compile checks t against the booster's feature names.
func compile(t *mlmodelfile.FeatureTransform, names []string) (*transform, error) {
	c := &transform{layout: t.DateFormat}
	if c.layout == "" {
		c.layout = mlmodelfile.DefaultDateFormat
	}
	if err := checkLayout(c.layout); err != nil {
		return nil, err
	}
	if len(t.Features) != len(names) {
		return nil, fmt.Errorf("feature_transform declares %d features, the booster has %d: %s",
			len(t.Features), len(names), strings.Join(names, ", "))
	}
	for i, spec := range t.Features {
		f, err := compileFeature(spec, c.layout)
		if err != nil {
			return nil, fmt.Errorf("feature_transform feature %d (%q): %w", i, spec.Name, err)
		}
		if spec.Name != names[i] {
			return nil, fmt.Errorf("feature_transform feature %d is named %q, the booster's feature %d is %q", i, spec.Name, i, names[i])
		}
		c.features = append(c.features, f)
	}
	return c, nil
}

// checkLayout rejects layouts that cannot carry a date, such as Python's
// "%Y-%m-%d", which Go would treat as literal text.
func checkLayout(layout string) error {
	ref := time.Date(2025, time.March, 14, 0, 0, 0, 0, time.UTC)
	t, err := time.Parse(layout, ref.Format(layout))
	if err != nil || t.Year() != ref.Year() || t.YearDay() != ref.YearDay() {
		return fmt.Errorf("feature_transform date_format %q is not a Go date layout with year, month and day (like 2006-01-02)", layout)
	}
	return nil
}

func compileFeature(spec mlmodelfile.FeatureSpec, layout string) (feature, error) {
	f := feature{FeatureSpec: spec}
	switch {
	case spec.Name == "":
		return f, fmt.Errorf("no name")
	case spec.Source == "":
		return f, fmt.Errorf("no source")
	case !knownOp(spec.Op):
		return f, fmt.Errorf("unknown op %q; supported: %s", spec.Op, strings.Join(ops, ", "))
	case spec.Op == mlmodelfile.OpDaysSince && spec.Origin == "":
		return f, fmt.Errorf("op days_since needs an origin date in layout %s", layout)
	case spec.Op == mlmodelfile.OpDaysSince:
		var err error
		if f.origin, err = time.Parse(layout, spec.Origin); err != nil {
			return f, fmt.Errorf("origin %q is not a date in layout %s", spec.Origin, layout)
		}
	}
	return f, nil
}

func knownOp(op string) bool {
	for _, o := range ops {
		if o == op {
			return true
		}
	}
	return false
}

// row computes the features from an object of raw fields into row. A date
// read by several features is parsed once.
func (c *transform) row(fields map[string]any, row []float64) error {
	var parsed struct {
		ok  bool
		raw string
		t   time.Time
	}
	for i, f := range c.features {
		raw, ok := fields[f.Source]
		if !ok {
			return fmt.Errorf("missing field %q", f.Source)
		}
		var v float64
		var err error
		switch s, isString := raw.(string); {
		case f.Op == mlmodelfile.OpNumber:
			v, err = toNumber(raw)
		case isString && parsed.ok && parsed.raw == s:
			v = f.fromDate(parsed.t)
		default:
			var t time.Time
			if t, err = toDate(raw, c.layout); err == nil {
				parsed.ok, parsed.raw, parsed.t = isString, s, t
				v = f.fromDate(t)
			}
		}
		if err != nil {
			return fmt.Errorf("field %q: %w", f.Source, err)
		}
		row[i] = v
	}
	return nil
}

// fromDate computes a date feature from its parsed date.
func (f *feature) fromDate(t time.Time) float64 {
	switch f.Op {
	case mlmodelfile.OpWeekday:
		return float64((int(t.Weekday()) + 6) % 7) // Go counts from Sunday
	case mlmodelfile.OpDayOfYear:
		return float64(t.YearDay())
	case mlmodelfile.OpMonth:
		return float64(t.Month())
	case mlmodelfile.OpDayOfMonth:
		return float64(t.Day())
	case mlmodelfile.OpYear:
		return float64(t.Year())
	}
	return float64(daysSince(f.origin, t))
}

// daysSince is pandas' (t - origin).days on the wall-clock times: whole days,
// rounded down, so an hour before origin is day -1.
func daysSince(origin, t time.Time) int64 {
	secs := wallSeconds(t) - wallSeconds(origin)
	if t.Nanosecond() < origin.Nanosecond() {
		secs--
	}
	days := secs / 86400
	if secs%86400 < 0 {
		days--
	}
	return days
}

// wallSeconds counts seconds of t's wall clock as if it were UTC, so that
// zone offsets and daylight saving do not shift whole days.
func wallSeconds(t time.Time) int64 {
	y, m, d := t.Date()
	h, mi, s := t.Clock()
	return time.Date(y, m, d, h, mi, s, 0, time.UTC).Unix()
}
