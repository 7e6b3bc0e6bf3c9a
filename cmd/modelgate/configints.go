package main

import (
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// fractionalIntegers finds integer keys the YAML text gives a fraction:
// yaml.v3 truncates 12.5 into an int field as 12 without a word, so
// canary.percent: 12.5 would quietly send 12%. It walks the document
// alongside the Config type and names each such key.
func fractionalIntegers(data []byte) []string {
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) != nil || len(doc.Content) == 0 {
		return nil // the typed decode reports malformed YAML
	}
	var found []string
	walkIntegers(doc.Content[0], reflect.TypeFor[Config](), "", &found)
	return found
}

func walkIntegers(n *yaml.Node, t reflect.Type, path string, found *[]string) {
	for n.Kind == yaml.AliasNode && n.Alias != nil { // *m: the value it names is decoded
		n = n.Alias
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if reflect.PointerTo(t).Implements(reflect.TypeFor[yaml.Unmarshaler]()) {
		return // a type that reads its own YAML (Duration) judges its values
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!float" && !whole(n.Value) {
			*found = append(*found, fmt.Sprintf("%s: expected a whole number, got %s", path, n.Value))
		}
	case reflect.Struct:
		if n.Kind == yaml.MappingNode {
			walkStruct(n, t, path, found)
		}
	case reflect.Slice, reflect.Array:
		if n.Kind == yaml.SequenceNode {
			for i, c := range n.Content {
				walkIntegers(c, t.Elem(), fmt.Sprintf("%s[%d]", path, i), found)
			}
		}
	case reflect.Map:
		if n.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(n.Content); i += 2 {
				walkIntegers(n.Content[i+1], t.Elem(), join(path, n.Content[i].Value), found)
			}
		}
	}
}

// walkStruct follows each key of mapping n into the field of t it fills,
// inline structs included.
func walkStruct(n *yaml.Node, t reflect.Type, path string, found *[]string) {
	for i := 0; i+1 < len(n.Content); i += 2 {
		key, v := n.Content[i].Value, n.Content[i+1]
		if key == "<<" && n.Content[i].ShortTag() == "!!merge" {
			walkMerged(v, t, path, found)
			continue
		}
		if f, ok := fieldOf(t, key); ok {
			walkIntegers(v, f.Type, join(path, key), found)
		}
	}
}

// walkMerged walks the mappings a merge key (<<: *base, or a list of
// them) brings into a mapping of type t.
func walkMerged(v *yaml.Node, t reflect.Type, path string, found *[]string) {
	for v.Kind == yaml.AliasNode && v.Alias != nil {
		v = v.Alias
	}
	switch v.Kind {
	case yaml.MappingNode:
		walkStruct(v, t, path, found)
	case yaml.SequenceNode:
		for _, m := range v.Content {
			walkMerged(m, t, path, found)
		}
	}
}

// fieldOf is the field of struct t that YAML key fills.
func fieldOf(t reflect.Type, key string) (reflect.StructField, bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if strings.Contains(opts, "inline") {
			if g, ok := fieldOf(f.Type, key); ok {
				return g, true
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		if name == key {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

// whole reports whether the YAML float s is a whole number (12.0).
func whole(s string) bool {
	f, err := strconv.ParseFloat(strings.ReplaceAll(s, "_", ""), 64)
	return err == nil && f == math.Trunc(f)
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}
