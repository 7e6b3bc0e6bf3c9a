package smoke

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sort"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/mlmodelfile"
)

// ModelSpec is what smoke tests read from a model directory: the MLmodel
// signature and the logged input example. It is filled by a SpecReader.
type ModelSpec struct {
	Inputs  []Column // signature inputs in order; nil when no signature was logged
	Outputs []Column // signature outputs; nil when none
	Example *Example // the logged input example; nil when none
}

// Column is one entry of an MLmodel signature: a named column (Type
// "double", "long", "string", …) or a tensor (Type "tensor" with DType such
// as "float64" and Shape, -1 for any size).
type Column struct {
	Name  string
	Type  string
	DType string
	Shape []int64
}

// Example is a logged input example in pandas "split" orient.
type Example struct {
	Columns []string
	Data    [][]any
}

// SpecReader reads the ModelSpec of a model directory: ReadSpec (signature
// and example; cmd/modelgate wires it) or ReadExample (example only; the
// default).
type SpecReader func(dir string) (*ModelSpec, error)

// ReadSpec reads the signature of an MLflow model directory's MLmodel file
// (package mlmodelfile) and its input example (ReadExample). ENOTFOUND or
// EINVALID when dir is not an MLflow model directory.
func ReadSpec(dir string) (*ModelSpec, error) {
	ml, err := mlmodelfile.Read(dir)
	if err != nil {
		return nil, err
	}
	spec, err := ReadExample(dir)
	if err != nil {
		return nil, err
	}
	if ml.Signature != nil {
		spec.Inputs, spec.Outputs = signatureColumns(ml.Signature.Inputs), signatureColumns(ml.Signature.Outputs)
	}
	return spec, nil
}

// signatureColumns translates MLmodel signature entries.
func signatureColumns(specs []mlmodelfile.ColumnSpec) []Column {
	out := make([]Column, len(specs))
	for i, s := range specs {
		out[i] = Column{Name: s.Name, Type: s.Type}
		if s.TensorSpec != nil {
			out[i].DType = s.TensorSpec.DType
			for _, d := range s.TensorSpec.Shape {
				out[i].Shape = append(out[i].Shape, int64(d))
			}
		}
	}
	return out
}

// ReadExample is the default SpecReader: it reads input_example.json (or,
// failing that, serving_input_example.json) of an MLflow model directory,
// without the signature. A directory without either gives an empty spec.
func ReadExample(dir string) (*ModelSpec, error) {
	for _, name := range []string{"input_example.json", "serving_input_example.json"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		} else if err != nil {
			return nil, err
		}
		ex, err := ParseExample(b)
		if err != nil {
			return nil, modelgate.Errorf(modelgate.EINVALID, "input example %s: %v", filepath.Join(dir, name), err)
		}
		return &ModelSpec{Example: ex}, nil
	}
	return &ModelSpec{}, nil
}

// ParseExample decodes an MLflow input example: pandas split orient
// ({"columns", "data"}), the serving form {"dataframe_split": {...}}, or a
// list of records.
func ParseExample(b []byte) (*Example, error) {
	var split struct {
		Columns        []string `json:"columns"`
		Data           [][]any  `json:"data"`
		DataframeSplit *Example `json:"dataframe_split"`
	}
	if err := json.Unmarshal(b, &split); err == nil {
		if split.DataframeSplit != nil {
			return split.DataframeSplit, nil
		}
		if len(split.Columns) > 0 {
			return &Example{Columns: split.Columns, Data: split.Data}, nil
		}
	}
	var records []map[string]any
	if err := json.Unmarshal(b, &records); err != nil || len(records) == 0 {
		return nil, modelgate.Errorf(modelgate.EINVALID, "expected pandas split orient {columns, data} or a list of records")
	}
	ex := &Example{}
	for k := range records[0] {
		ex.Columns = append(ex.Columns, k)
	}
	sort.Strings(ex.Columns)
	for _, r := range records {
		row := make([]any, len(ex.Columns))
		for i, c := range ex.Columns {
			row[i] = r[c]
		}
		ex.Data = append(ex.Data, row)
	}
	return ex, nil
}

// UnmarshalJSON reads an Example from {"columns", "data"}.
func (e *Example) UnmarshalJSON(b []byte) error {
	var raw struct {
		Columns []string `json:"columns"`
		Data    [][]any  `json:"data"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	e.Columns, e.Data = raw.Columns, raw.Data
	return nil
}

// exampleBody builds a V1 body from the spec's input example: one request
// with every example row as an array of feature values, in signature order
// when the signature names the example's columns. ok is false without an
// example.
func exampleBody(spec *ModelSpec) (json.RawMessage, bool, error) {
	if spec == nil || spec.Example == nil || len(spec.Example.Data) == 0 {
		return nil, false, nil
	}
	ex := spec.Example
	order := make([]int, len(ex.Columns))
	for i := range order {
		order[i] = i
	}
	if len(spec.Inputs) == len(ex.Columns) {
		for i, in := range spec.Inputs {
			if j := indexOf(ex.Columns, in.Name); j >= 0 {
				order[i] = j
			}
		}
	}
	instances := make([]any, len(ex.Data))
	for r, row := range ex.Data {
		if len(row) != len(ex.Columns) {
			return nil, false, modelgate.Errorf(modelgate.EINVALID, "input example row %d has %d values for %d columns", r, len(row), len(ex.Columns))
		}
		inst := make([]any, len(order))
		for i, j := range order {
			inst[i] = row[j]
		}
		instances[r] = inst
	}
	b, err := json.Marshal(map[string]any{"instances": instances})
	return b, true, err
}

// v2Datatype maps a signature type (column type or tensor dtype) to a V2
// datatype; "" when unknown.
func v2Datatype(c Column) string {
	t := c.Type
	if t == "tensor" {
		t = c.DType
	}
	switch t {
	case "double", "float64":
		return "FP64"
	case "float", "float32":
		return "FP32"
	case "long", "int64":
		return "INT64"
	case "integer", "int32":
		return "INT32"
	case "boolean", "bool":
		return "BOOL"
	case "string", "binary", "str", "object", "bytes":
		return "BYTES"
	}
	return ""
}
