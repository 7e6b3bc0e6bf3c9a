package inference

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/modelgate/modelgate"
)

// Tensor is one V2 (Open Inference Protocol) input or output tensor. Data is
// flat or nested, row-major, as JSON carries it; answers decode it as []any
// whose leaves are float64 (NaN and ±Inf for the non-standard NaN and
// Infinity tokens some servers write, NaN for null), bool or string.
type Tensor struct {
	Name     string  `json:"name"`
	Shape    []int64 `json:"shape"`
	Datatype string  `json:"datatype"`
	Data     any     `json:"data"`
}

// V2Request is a V2 inference request.
type V2Request struct {
	ID     string   `json:"id,omitempty"`
	Inputs []Tensor `json:"inputs"`
}

// V2Result is one answered V2 request. For a 200 answer Outputs holds the
// decoded output tensors; Predictions the values of the output named
// "predict" (or of the only output), flattened, when they are all numbers.
type V2Result struct {
	Status       int
	ModelName    string
	ModelVersion string // model_version of the answer, else the X-Model-Version header
	Outputs      []Tensor
	Predictions  []float64
	Latency      time.Duration
	Body         []byte
}

// TensorMeta describes a tensor in V2 model metadata; -1 in Shape is any size.
type TensorMeta struct {
	Name     string  `json:"name"`
	Datatype string  `json:"datatype"`
	Shape    []int64 `json:"shape"`
}

// V2Metadata is the answer of GET /v2/models/{name}.
type V2Metadata struct {
	Name     string       `json:"name"`
	Versions []string     `json:"versions"`
	Platform string       `json:"platform"`
	Inputs   []TensorMeta `json:"inputs"`
	Outputs  []TensorMeta `json:"outputs"`
}

// InferURL returns the V2 infer URL of an endpoint.
func InferURL(ep modelgate.Endpoint) string {
	return strings.TrimRight(ep.URL, "/") + "/v2/models/" + url.PathEscape(ep.Name) + "/infer"
}

// Infer posts a V2 request and decodes the answer. A non-200 answer is
// returned in V2Result with a nil error; transport failures are
// EUNAVAILABLE; a 200 answer that is not a V2 response is EINVALID, with the
// result.
func (c Client) Infer(ctx context.Context, ep modelgate.Endpoint, req V2Request) (*V2Result, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("encode V2 request: %w", err)
	}
	return c.InferRaw(ctx, ep, body)
}

// InferRaw posts a ready-made V2 request body.
func (c Client) InferRaw(ctx context.Context, ep modelgate.Endpoint, body []byte) (*V2Result, error) {
	u := InferURL(ep)
	status, header, b, latency, err := c.post(ctx, u, body)
	if err != nil {
		return nil, err
	}
	r := &V2Result{Status: status, ModelVersion: header.Get("X-Model-Version"), Latency: latency, Body: b}
	if status != http.StatusOK {
		return r, nil
	}
	var out struct {
		ModelName    string   `json:"model_name"`
		ModelVersion *string  `json:"model_version"`
		Outputs      []Tensor `json:"outputs"`
	}
	if err := json.Unmarshal(NonFiniteAsStrings(b), &out); err != nil {
		return r, modelgate.Errorf(modelgate.EINVALID, "answer of %s is not a V2 inference response: %v", u, err)
	}
	if out.Outputs == nil {
		return r, modelgate.Errorf(modelgate.EINVALID, `answer of %s has no "outputs"`, u)
	}
	r.ModelName, r.Outputs = out.ModelName, out.Outputs
	if out.ModelVersion != nil && *out.ModelVersion != "" {
		r.ModelVersion = *out.ModelVersion
	}
	for i := range r.Outputs {
		r.Outputs[i].Data = Flatten(r.Outputs[i].Data, nil)
	}
	if t := PredictionTensor(r.Outputs); t != nil {
		r.Predictions, _ = Numbers(t.Data.([]any))
	}
	return r, nil
}

// Metadata returns the endpoint's V2 model metadata. ENOTFOUND when the
// server answers 404 (it may not speak V2), EUNAVAILABLE when unreachable.
func (c Client) Metadata(ctx context.Context, ep modelgate.Endpoint) (*V2Metadata, error) {
	u := strings.TrimRight(ep.URL, "/") + "/v2/models/" + url.PathEscape(ep.Name)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, modelgate.Errorf(modelgate.EINVALID, "bad endpoint %q: %v", ep.URL, err)
	}
	resp, err := c.httpClient().Do(req)
	if err != nil {
		return nil, &modelgate.Error{Code: modelgate.EUNAVAILABLE, Message: fmt.Sprintf("cannot reach %s: %v", u, err), Err: err}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return nil, modelgate.Errorf(modelgate.ENOTFOUND, "%s answered 404: %.200s", u, b)
	case resp.StatusCode != http.StatusOK:
		return nil, modelgate.Errorf(modelgate.EUNAVAILABLE, "%s answered %d: %.200s", u, resp.StatusCode, b)
	}
	var md V2Metadata
	if err := json.Unmarshal(b, &md); err != nil {
		return nil, modelgate.Errorf(modelgate.EINVALID, "answer of %s is not V2 model metadata: %v", u, err)
	}
	return &md, nil
}

// PredictionTensor returns the output named "predict", else the only
// output, else nil.
func PredictionTensor(outputs []Tensor) *Tensor {
	for i := range outputs {
		if outputs[i].Name == "predict" {
			return &outputs[i]
		}
	}
	if len(outputs) == 1 {
		return &outputs[0]
	}
	return nil
}

// Flatten appends the leaves of nested JSON arrays to out.
func Flatten(v any, out []any) []any {
	switch v := v.(type) {
	case nil:
		return out
	case []any:
		if out == nil {
			out = make([]any, 0, len(v))
		}
		for _, e := range v {
			if e == nil {
				out = append(out, nil)
				continue
			}
			out = Flatten(e, out)
		}
		return out
	}
	return append(out, v)
}

// Numbers converts decoded JSON leaves to float64: numbers as they are, null
// and the strings "NaN", "Infinity", "-Infinity" (see NonFiniteAsStrings) as
// NaN and ±Inf. ok is false when a leaf is anything else.
func Numbers(vals []any) (nums []float64, ok bool) {
	nums = make([]float64, len(vals))
	for i, v := range vals {
		f, isNum := Number(v)
		if !isNum {
			return nil, false
		}
		nums[i] = f
	}
	return nums, true
}

// Number converts one decoded JSON leaf as Numbers does.
func Number(v any) (float64, bool) {
	switch v := v.(type) {
	case float64:
		return v, true
	case nil:
		return math.NaN(), true
	case string:
		switch v {
		case "NaN", "nan":
			return math.NaN(), true
		case "Infinity", "inf", "+Infinity":
			return math.Inf(1), true
		case "-Infinity", "-inf":
			return math.Inf(-1), true
		}
	}
	return 0, false
}

// NonFiniteAsStrings rewrites the bare tokens NaN, Infinity and -Infinity
// that Python's json module writes (they are not JSON) into the strings
// "NaN", "Infinity" and "-Infinity", leaving string contents alone, so the
// answer decodes and the values can be reported rather than failing the
// decoder. Valid JSON comes back unchanged.
func NonFiniteAsStrings(b []byte) []byte {
	if !bytes.Contains(b, []byte("NaN")) && !bytes.Contains(b, []byte("Infinity")) {
		return b
	}
	var out bytes.Buffer
	inString, escaped := false, false
	for i := 0; i < len(b); i++ {
		ch := b[i]
		if inString {
			out.WriteByte(ch)
			switch {
			case escaped:
				escaped = false
			case ch == '\\':
				escaped = true
			case ch == '"':
				inString = false
			}
			continue
		}
		if ch == '"' {
			inString = true
			out.WriteByte(ch)
			continue
		}
		matched := false
		for _, tok := range []string{"-Infinity", "Infinity", "NaN"} {
			if bytes.HasPrefix(b[i:], []byte(tok)) {
				out.WriteString(`"` + tok + `"`)
				i += len(tok) - 1
				matched = true
				break
			}
		}
		if !matched {
			out.WriteByte(ch)
		}
	}
	return out.Bytes()
}

// TensorsFromInstances turns V1 instances into V2 input tensors, the way the
// gateway and the example KServe server read them back: arrays of F feature
// values become one FP64 tensor "input-0" of shape [N, F]; objects of raw
// fields become one tensor per field of shape [N], FP64 for numbers (and
// nulls) and BYTES for strings. EINVALID for instances that fit neither.
func TensorsFromInstances(instances []any) ([]Tensor, error) {
	if len(instances) == 0 {
		return nil, modelgate.Errorf(modelgate.EINVALID, "no instances to send")
	}
	if _, ok := instances[0].([]any); ok {
		return matrixTensor(instances)
	}
	return fieldTensors(instances)
}

func matrixTensor(instances []any) ([]Tensor, error) {
	width := -1
	data := make([]any, 0, len(instances))
	for i, inst := range instances {
		row, ok := inst.([]any)
		if !ok || (width >= 0 && len(row) != width) {
			return nil, modelgate.Errorf(modelgate.EINVALID, "instance %d: expected an array of %d feature values like instance 0", i, width)
		}
		width = len(row)
		data = append(data, row)
	}
	return []Tensor{{Name: "input-0", Shape: []int64{int64(len(instances)), int64(width)}, Datatype: "FP64", Data: data}}, nil
}

func fieldTensors(instances []any) ([]Tensor, error) {
	first, ok := instances[0].(map[string]any)
	if !ok {
		return nil, modelgate.Errorf(modelgate.EINVALID, "instance 0: expected an object of fields or an array of feature values")
	}
	names := make([]string, 0, len(first))
	for k := range first {
		names = append(names, k)
	}
	sort.Strings(names)
	tensors := make([]Tensor, len(names))
	for j, name := range names {
		col := make([]any, len(instances))
		dt := ""
		for i, inst := range instances {
			m, ok := inst.(map[string]any)
			if !ok {
				return nil, modelgate.Errorf(modelgate.EINVALID, "instance %d: expected an object of fields like instance 0", i)
			}
			v, ok := m[name]
			if !ok {
				return nil, modelgate.Errorf(modelgate.EINVALID, "instance %d: field %q is missing", i, name)
			}
			d, v := leafDatatype(v)
			if d == "" || (dt != "" && d != dt && v != nil) {
				return nil, modelgate.Errorf(modelgate.EINVALID, "instance %d: field %q holds %v, which does not fit a %s tensor", i, name, v, dt)
			}
			if dt == "" || v != nil {
				dt = d
			}
			col[i] = v
		}
		tensors[j] = Tensor{Name: name, Shape: []int64{int64(len(instances))}, Datatype: dt, Data: col}
	}
	return tensors, nil
}

// leafDatatype returns the V2 datatype of one field value ("" if none fits)
// and the value to send.
func leafDatatype(v any) (string, any) {
	switch x := v.(type) {
	case nil:
		return "FP64", nil
	case float64, float32, int, int64, int32:
		return "FP64", x
	case json.Number:
		f, err := x.Float64()
		if err != nil {
			return "", v
		}
		return "FP64", f
	case bool:
		if x {
			return "FP64", 1.0
		}
		return "FP64", 0.0
	case string:
		return "BYTES", x
	}
	return "", v
}
