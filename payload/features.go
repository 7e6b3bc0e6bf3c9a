package payload

import (
	"strconv"

	"github.com/modelgate/modelgate/wire"
)

// rawFeatures is the default featurisation: every numeric (or boolean)
// field of a map instance under its name, every numeric element of an
// array instance as feature_<j>. Strings (dates, categories) are left out.
func rawFeatures(instances []any, add func(name string, v float64)) {
	for _, inst := range instances {
		switch inst := inst.(type) {
		case map[string]any:
			for k, v := range inst {
				if f, ok := wire.NumberOrBool(v); ok {
					add(k, f)
				}
			}
		case []any:
			for j, v := range inst {
				if f, ok := wire.NumberOrBool(v); ok {
					add(columnName(nil, j), f)
				}
			}
		}
	}
}

// columnName names column j; columns beyond names get "feature_<j>", as
// the gateway names them.
func columnName(names []string, j int) string {
	if j < len(names) {
		return names[j]
	}
	return "feature_" + strconv.Itoa(j)
}
