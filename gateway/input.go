package gateway

import (
	"fmt"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/mlmodelfile"
)

// mlmodelDescribed is how the gateway learns a model's inputs: a model
// loaded from an MLflow directory (mlmodel.Model) exposes its MLmodel file.
type mlmodelDescribed interface {
	MLmodel() *mlmodelfile.MLmodel
}

// inputPolicy is what a model declares about the JSON types of its raw
// inputs. The gateway refuses a boolean or null for a numeric feature
// unless the model's signature declares that column boolean or optional
// (required: false): a model runtime would quietly read true as 1 and null
// as a missing value, which a client rarely means. Fields the model does not
// read are accepted and ignored.
type inputPolicy struct {
	numeric    []string // fields of object instances read as numbers
	positional []string // feature names of array instances, all numbers
	allowBool  map[string]bool
	allowNull  map[string]bool
}

// policyOf returns m's input policy; nil when m declares nothing the
// gateway can check (the model, or the external server, checks alone).
func policyOf(m Model) *inputPolicy {
	if u, ok := m.(*Upstream); ok && u.spec.Features != nil {
		m = u.spec.Features
	}
	d, ok := m.(mlmodelDescribed)
	if !ok || d.MLmodel() == nil {
		return nil
	}
	ml, names := d.MLmodel(), m.FeatureNames()
	p := &inputPolicy{numeric: names, positional: names, allowBool: map[string]bool{}, allowNull: map[string]bool{}}
	if t := ml.FeatureTransform; t != nil {
		p.numeric = nil
		for _, f := range t.Features {
			if f.Op == mlmodelfile.OpNumber {
				p.numeric = append(p.numeric, f.Source)
			}
		}
	}
	if ml.Signature != nil {
		for _, c := range ml.Signature.Inputs {
			p.allowBool[c.Name] = c.Type == "boolean"
			p.allowNull[c.Name] = c.Required != nil && !*c.Required
		}
	}
	if c, ok := m.(categorized); ok {
		// Category labels, not numbers: the model codes null (and an
		// unseen label) as missing, as LightGBM's Python predict does.
		for _, name := range c.CategoryColumns() {
			p.allowBool[name], p.allowNull[name] = true, true
		}
	}
	return p
}

// categorized is a model with pandas category columns (mlmodel.Model).
type categorized interface {
	CategoryColumns() []string
}

// check refuses instances holding a boolean or null where p expects a
// number. EINVALID, naming the instance and field.
func (p *inputPolicy) check(instances []any) error {
	if p == nil {
		return nil
	}
	for i, inst := range instances {
		if err := p.checkInstance(inst); err != nil {
			return modelgate.Errorf(modelgate.EINVALID, "instance %d: %s", i, err)
		}
	}
	return nil
}

func (p *inputPolicy) checkInstance(inst any) error {
	switch v := inst.(type) {
	case map[string]any:
		for _, f := range p.numeric {
			x, ok := v[f]
			if !ok {
				continue
			}
			if err := p.checkValue(f, x); err != nil {
				return fmt.Errorf("field %q: %w", f, err)
			}
		}
	case []any:
		for j, x := range v {
			if j < len(p.positional) {
				if err := p.checkValue(p.positional[j], x); err != nil {
					return fmt.Errorf("value %d (%s): %w", j, p.positional[j], err)
				}
			}
		}
	}
	return nil
}

// checkValue refuses a boolean or null for the numeric feature name unless
// the signature declares it. A missing field is the model's to report.
func (p *inputPolicy) checkValue(name string, x any) error {
	switch x.(type) {
	case bool:
		if !p.allowBool[name] {
			return fmt.Errorf("%v is a boolean, not a number (the model's signature does not declare %q boolean)", x, name)
		}
	case nil:
		if !p.allowNull[name] {
			return fmt.Errorf("null is not a number (the model's signature does not declare %q optional with required: false)", name)
		}
	}
	return nil
}
