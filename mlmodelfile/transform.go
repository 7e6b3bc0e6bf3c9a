package mlmodelfile

import (
	"fmt"

	"go.yaml.in/yaml/v3"
)

// DefaultDateFormat is the Go layout of date sources when a transform names none.
const DefaultDateFormat = "2006-01-02"

// Ops of a FeatureSpec.
const (
	OpNumber     = "number"       // a JSON number, a numeric string, or a bool (0/1); null is missing
	OpWeekday    = "weekday"      // Monday=0 … Sunday=6
	OpDayOfYear  = "day_of_year"  // 1..366
	OpMonth      = "month"        // 1..12
	OpDayOfMonth = "day_of_month" // 1..31
	OpYear       = "year"         // e.g. 2025
	OpDaysSince  = "days_since"   // whole days from Origin to the date, rounded down
)

// FeatureTransform is metadata.modelgate.feature_transform of an MLmodel:
// how the raw fields of a request become the model's features. The training
// code applies the same declaration, so serving cannot drift from it.
type FeatureTransform struct {
	DateFormat string        `yaml:"date_format"` // Go time layout; "" means DefaultDateFormat
	Features   []FeatureSpec `yaml:"features"`    // in the model's feature order
}

// FeatureSpec computes one feature from one request field.
type FeatureSpec struct {
	Name   string `yaml:"name"`   // must equal the booster's feature name at this index
	Source string `yaml:"source"` // the request field it is computed from
	Op     string `yaml:"op"`     // one of the Op constants
	Origin string `yaml:"origin"` // days_since only: the day counted as 0, in DateFormat
}

// parseFeatureTransform returns the declared transform, nil if there is none.
func parseFeatureTransform(text []byte) (*FeatureTransform, error) {
	var doc struct {
		Metadata struct {
			Modelgate struct {
				FeatureTransform *FeatureTransform `yaml:"feature_transform"`
			} `yaml:"modelgate"`
		} `yaml:"metadata"`
	}
	if err := yaml.Unmarshal(text, &doc); err != nil {
		return nil, fmt.Errorf("metadata.modelgate.feature_transform: %w", err)
	}
	return doc.Metadata.Modelgate.FeatureTransform, nil
}
