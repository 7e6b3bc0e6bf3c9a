package wire

import (
	"fmt"
	"slices"

	"github.com/modelgate/modelgate"
)

// Instances turns the input tensors of a V2 request into instances, as a
// server reads them: a single numeric [N, F] tensor gives N arrays of F
// feature values (an [N, 1] tensor named like one of features is that
// feature instead); otherwise every tensor is one field of shape [N] or
// [N, 1] and they give N objects of fields. Values must fit their tensor's
// shape and datatype. EINVALID, naming the input, otherwise.
func Instances(inputs []Tensor, features []string) ([]any, error) {
	if len(inputs) == 0 {
		return nil, modelgate.Errorf(modelgate.EINVALID, `request has no "inputs"`)
	}
	if isMatrix(inputs, features) {
		return matrixRows(inputs[0], true)
	}
	return fieldRows(inputs, true)
}

// isMatrix reports whether inputs are one 2-D tensor of feature values
// rather than one feature of shape [N, 1].
func isMatrix(inputs []Tensor, features []string) bool {
	if len(inputs) != 1 || len(inputs[0].Shape) != 2 {
		return false
	}
	t := inputs[0]
	if !IsNumeric(t.Datatype) {
		return false
	}
	return t.Shape[1] != 1 || !slices.Contains(features, t.Name)
}

// matrixRows turns an [N, F] tensor into N arrays of F values; strict
// checks the values against the datatype.
func matrixRows(t Tensor, strict bool) ([]any, error) {
	vals, err := t.values(strict)
	if err != nil {
		return nil, inputError(t.Name, err)
	}
	n, f := int(t.Shape[0]), int(t.Shape[1])
	if f == 0 { // rows of nothing, as many as the shape says: a small body could ask for any number
		return nil, inputError(t.Name, fmt.Errorf("shape %s has no feature values", ShapeString(t.Shape)))
	}
	rows := make([]any, n)
	for i := range n {
		rows[i] = vals[i*f : (i+1)*f]
	}
	return rows, nil
}

// fieldRows turns one tensor per field, each of shape [N] or [N, 1], into N
// objects mapping field names to values. strict: every input must be such
// a field, with a name of its own and values of its datatype; otherwise
// tensors of other shapes (images, embeddings) are left out and datatypes
// are not checked.
func fieldRows(inputs []Tensor, strict bool) ([]any, error) {
	n, first := -1, ""
	columns := make(map[string][]any, len(inputs))
	for _, t := range inputs {
		if strict {
			if err := checkField(t, columns); err != nil {
				return nil, err
			}
		} else if !t.isColumn() {
			continue
		}
		vals, err := t.values(strict)
		if err != nil {
			return nil, inputError(t.Name, err)
		}
		if n >= 0 && len(vals) != n {
			return nil, modelgate.Errorf(modelgate.EINVALID,
				"inputs disagree on the number of rows: %q has %d, %q has %d", first, n, t.Name, len(vals))
		}
		if n < 0 {
			n, first = len(vals), t.Name
		}
		columns[t.Name] = vals
	}
	return objects(columns, n), nil
}

// checkField checks that t can be a field next to the columns read so far.
func checkField(t Tensor, columns map[string][]any) error {
	if t.Name == "" {
		return modelgate.Errorf(modelgate.EINVALID, "an input has no name")
	}
	if _, dup := columns[t.Name]; dup {
		return inputError(t.Name, fmt.Errorf("appears more than once"))
	}
	if !t.isColumn() {
		return inputError(t.Name, fmt.Errorf("shape %s is neither [N] nor [N, 1]", ShapeString(t.Shape)))
	}
	return nil
}

// objects turns columns of n values into n objects; nil for n < 0.
func objects(columns map[string][]any, n int) []any {
	if n < 0 {
		return nil
	}
	out := make([]any, n)
	for i := range n {
		inst := make(map[string]any, len(columns))
		for name, col := range columns {
			inst[name] = col[i]
		}
		out[i] = inst
	}
	return out
}

func inputError(name string, err error) error {
	return modelgate.Errorf(modelgate.EINVALID, "input %q: %v", name, err)
}
