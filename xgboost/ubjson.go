package xgboost

import (
	"encoding/binary"
	"fmt"
	"math"
)

// decodeUBJSON decodes the UBJSON subset XGBoost writes (src/common/json.cc,
// UBJWriter) into the values decodeJSON gives, so one reader builds the model
// from either format: objects are map[string]any, generic arrays []any,
// strings string, booleans bool, null nil, integers int64, 'd' numbers
// float32, 'D' numbers float64; typed arrays ('[$d#L…') become []float32
// (d), []float64 (D) or []int64 (any integer type). Object keys and string
// lengths are 'L' (int64) as XGBoost writes them; other UBJSON length types
// are accepted too, as the specification allows them.
func decodeUBJSON(b []byte) (any, error) {
	d := &ubjDecoder{b: b}
	v, err := d.value()
	if err != nil {
		return nil, fmt.Errorf("UBJSON at byte %d: %w", d.pos, err)
	}
	if d.pos != len(b) {
		return nil, fmt.Errorf("UBJSON: %d bytes after the top-level value", len(b)-d.pos)
	}
	return v, nil
}

// maxDepth bounds nesting, so a hostile file cannot exhaust the stack.
const maxDepth = 64

type ubjDecoder struct {
	b     []byte
	pos   int
	depth int
}

func (d *ubjDecoder) next() (byte, error) {
	if d.pos >= len(d.b) {
		return 0, fmt.Errorf("unexpected end of data")
	}
	c := d.b[d.pos]
	d.pos++
	return c, nil
}

func (d *ubjDecoder) take(n int) ([]byte, error) {
	if n < 0 || n > len(d.b)-d.pos {
		return nil, fmt.Errorf("length %d runs past the end of the data", n)
	}
	s := d.b[d.pos : d.pos+n]
	d.pos += n
	return s, nil
}

func (d *ubjDecoder) value() (any, error) {
	c, err := d.next()
	if err != nil {
		return nil, err
	}
	return d.valueOf(c)
}

func (d *ubjDecoder) valueOf(c byte) (any, error) {
	switch c {
	case '{':
		return d.object()
	case '[':
		return d.array()
	case 'Z':
		return nil, nil
	case 'T':
		return true, nil
	case 'F':
		return false, nil
	case 'S':
		return d.str()
	case 'd':
		b, err := d.take(4)
		if err != nil {
			return nil, err
		}
		return math.Float32frombits(binary.BigEndian.Uint32(b)), nil
	case 'D':
		b, err := d.take(8)
		if err != nil {
			return nil, err
		}
		return math.Float64frombits(binary.BigEndian.Uint64(b)), nil
	}
	if size := intSize(c); size > 0 {
		b, err := d.take(size)
		if err != nil {
			return nil, err
		}
		return readInt(c, b), nil
	}
	return nil, fmt.Errorf("unsupported UBJSON marker %q", c)
}

// intSize is the byte size of an integer marker, 0 if c is not one.
func intSize(c byte) int {
	switch c {
	case 'i', 'U', 'C':
		return 1
	case 'I':
		return 2
	case 'l':
		return 4
	case 'L':
		return 8
	}
	return 0
}

func readInt(c byte, b []byte) int64 {
	switch c {
	case 'i':
		return int64(int8(b[0]))
	case 'U':
		return int64(b[0])
	case 'C':
		return int64(int8(b[0])) // XGBoost reads C as a signed char
	case 'I':
		return int64(int16(binary.BigEndian.Uint16(b)))
	case 'l':
		return int64(int32(binary.BigEndian.Uint32(b)))
	}
	return int64(binary.BigEndian.Uint64(b))
}

// length reads an integer-typed length.
func (d *ubjDecoder) length() (int, error) {
	c, err := d.next()
	if err != nil {
		return 0, err
	}
	size := intSize(c)
	if size == 0 || c == 'C' {
		return 0, fmt.Errorf("want an integer length, got marker %q", c)
	}
	b, err := d.take(size)
	if err != nil {
		return 0, err
	}
	n := readInt(c, b)
	if n < 0 || n > int64(len(d.b)) {
		return 0, fmt.Errorf("length %d is out of range", n)
	}
	return int(n), nil
}

func (d *ubjDecoder) str() (string, error) {
	n, err := d.length()
	if err != nil {
		return "", err
	}
	b, err := d.take(n)
	return string(b), err
}

func (d *ubjDecoder) enter() error {
	if d.depth++; d.depth > maxDepth {
		return fmt.Errorf("nested deeper than %d levels", maxDepth)
	}
	return nil
}

func (d *ubjDecoder) object() (any, error) {
	if err := d.enter(); err != nil {
		return nil, err
	}
	defer func() { d.depth-- }()
	obj := map[string]any{}
	for {
		if d.pos < len(d.b) && d.b[d.pos] == '}' {
			d.pos++
			return obj, nil
		}
		key, err := d.str()
		if err != nil {
			return nil, err
		}
		if obj[key], err = d.value(); err != nil {
			return nil, fmt.Errorf("key %q: %w", key, err)
		}
	}
}

func (d *ubjDecoder) array() (any, error) {
	if err := d.enter(); err != nil {
		return nil, err
	}
	defer func() { d.depth-- }()
	if d.pos < len(d.b) && d.b[d.pos] == '$' {
		d.pos++
		return d.typedArray()
	}
	if d.pos < len(d.b) && d.b[d.pos] == '#' {
		d.pos++
		n, err := d.length()
		if err != nil {
			return nil, err
		}
		arr := make([]any, 0, min(n, 1<<16))
		for range n {
			v, err := d.value()
			if err != nil {
				return nil, err
			}
			arr = append(arr, v)
		}
		return arr, nil
	}
	var arr []any
	for {
		c, err := d.next()
		if err != nil {
			return nil, err
		}
		if c == ']' {
			return arr, nil
		}
		v, err := d.valueOf(c)
		if err != nil {
			return nil, err
		}
		arr = append(arr, v)
	}
}

// typedArray reads '$' type '#' count and count values of that type.
func (d *ubjDecoder) typedArray() (any, error) {
	typ, err := d.next()
	if err != nil {
		return nil, err
	}
	if c, err := d.next(); err != nil {
		return nil, err
	} else if c != '#' {
		return nil, fmt.Errorf("typed array without a count")
	}
	n, err := d.length()
	if err != nil {
		return nil, err
	}
	switch typ {
	case 'd':
		b, err := d.take(4 * n)
		if err != nil {
			return nil, err
		}
		out := make([]float32, n)
		for i := range out {
			out[i] = math.Float32frombits(binary.BigEndian.Uint32(b[4*i:]))
		}
		return out, nil
	case 'D':
		b, err := d.take(8 * n)
		if err != nil {
			return nil, err
		}
		out := make([]float64, n)
		for i := range out {
			out[i] = math.Float64frombits(binary.BigEndian.Uint64(b[8*i:]))
		}
		return out, nil
	}
	size := intSize(typ)
	if size == 0 {
		return nil, fmt.Errorf("typed array of unsupported type %q", typ)
	}
	b, err := d.take(size * n)
	if err != nil {
		return nil, err
	}
	out := make([]int64, n)
	for i := range out {
		out[i] = readInt(typ, b[size*i:])
	}
	return out, nil
}
