package main

import "encoding/json"

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }

func mustMarshal(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only called on values decoded from YAML, which always encode
	}
	return b
}
