package smoke

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/inference"
	"github.com/modelgate/modelgate/wire"
)

// outputSpec is one V2 output a smoke test expects: the name ("" for any),
// the datatype ("" for any number) and the shape (-1 for any size; nil for
// [N]). The first dimension is always the number of instances.
type outputSpec struct {
	name     string
	datatype string
	shape    []int64
}

func (o outputSpec) String() string {
	name, dt := "(any name)", o.datatype
	if o.name != "" {
		name = strconv.Quote(o.name)
	}
	if dt == "" {
		dt = "numeric"
	}
	shape := o.shape
	if shape == nil {
		shape = []int64{-1}
	}
	return fmt.Sprintf("%s %s %s", name, dt, wire.ShapeString(shape))
}

// expectedOutputs are the outputs the endpoint declares in its V2 metadata,
// with the datatypes the MLmodel signature declares where it does; without
// metadata, the signature's; without either, one numeric output.
func (s *smokeRun) expectedOutputs(ctx context.Context) ([]outputSpec, error) {
	var want []outputSpec
	md, err := s.g.Client.Metadata(ctx, s.ep)
	switch {
	case err == nil:
		for _, o := range md.Outputs {
			want = append(want, outputSpec{name: o.Name, datatype: o.Datatype, shape: o.Shape})
		}
	case modelgate.ErrorCode(err) == modelgate.ENOTFOUND || modelgate.ErrorCode(err) == modelgate.EINVALID:
	default:
		return nil, fmt.Errorf("read V2 model metadata: %w", err)
	}
	if s.spec != nil {
		for i, col := range s.spec.Outputs {
			dt := v2Datatype(col)
			if i < len(want) {
				if dt != "" {
					want[i].datatype = dt
				}
				continue
			}
			o := outputSpec{name: col.Name, datatype: dt}
			if col.Type == "tensor" {
				o.shape = col.Shape
			}
			want = append(want, o)
		}
	}
	if len(want) == 0 {
		want = []outputSpec{{}}
	}
	return want, nil
}

// v2Structure returns what is wrong with a 200 V2 answer to n instances,
// "" when it has every expected output with its datatype and shape.
func v2Structure(res *inference.V2Result, decodeErr error, want []outputSpec, n int) string {
	if decodeErr != nil {
		return modelgate.ErrorMessage(decodeErr)
	}
	used := make([]bool, len(res.Outputs))
	for _, w := range want {
		j := findOutput(res.Outputs, used, w.name)
		if j < 0 {
			return fmt.Sprintf("no output %q among %s", w.name, outputNames(res.Outputs))
		}
		used[j] = true
		if msg := tensorMismatch(res.Outputs[j], w, n); msg != "" {
			return msg
		}
	}
	for j, u := range used {
		if !u && want[0].name != "" {
			return fmt.Sprintf("undeclared output %q", res.Outputs[j].Name)
		}
	}
	return ""
}

func findOutput(outputs []wire.Tensor, used []bool, name string) int {
	for j, o := range outputs {
		if !used[j] && (name == "" || o.Name == name) {
			return j
		}
	}
	return -1
}

func outputNames(outputs []wire.Tensor) string {
	names := make([]string, len(outputs))
	for i, o := range outputs {
		names[i] = strconv.Quote(o.Name)
	}
	return "[" + strings.Join(names, ", ") + "]"
}

// tensorMismatch compares one output with its expectation.
func tensorMismatch(t wire.Tensor, w outputSpec, n int) string {
	desc := fmt.Sprintf("output %q %s %s", t.Name, t.Datatype, wire.ShapeString(t.Shape))
	if w.datatype != "" && t.Datatype != w.datatype {
		return desc + fmt.Sprintf(", datatype %s instead of %s", t.Datatype, w.datatype)
	}
	if w.datatype == "" && !wire.IsNumeric(t.Datatype) {
		return desc + ", not a numeric datatype"
	}
	if len(t.Shape) == 0 || t.Shape[0] != int64(n) {
		return desc + fmt.Sprintf(" for %d instances, expected first dimension %d", n, n)
	}
	if w.shape != nil && len(t.Shape) != len(w.shape) {
		return desc + fmt.Sprintf(", rank %d instead of the declared %s", len(t.Shape), wire.ShapeString(w.shape))
	}
	for i := 1; i < len(w.shape); i++ {
		if w.shape[i] >= 0 && t.Shape[i] != w.shape[i] {
			return desc + fmt.Sprintf(", dimension %d is %d instead of the declared %s", i, t.Shape[i], wire.ShapeString(w.shape))
		}
	}
	vals, _ := t.Data.([]any)
	size := int64(1)
	for _, d := range t.Shape {
		size *= d
	}
	if int64(len(vals)) != size {
		return desc + fmt.Sprintf(" holding %d values", len(vals))
	}
	if wire.IsNumeric(t.Datatype) {
		for i, v := range vals {
			if _, ok := wire.Number(v); !ok {
				return desc + fmt.Sprintf(", value %d is %v, not a number", i, v)
			}
		}
	}
	return ""
}
