package loadgen

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
)

// ReadInstances reads a CSV file of request rows (a header, then at least
// one row) into request instances: one object per row mapping the header's
// names to the row's values, numbers where a value parses as one, strings
// otherwise.
func ReadInstances(path string) ([]map[string]any, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(recs) < 2 {
		return nil, fmt.Errorf("read %s: expected a header and at least one row, found %d lines", path, len(recs))
	}
	header := recs[0]
	out := make([]map[string]any, 0, len(recs)-1)
	for _, rec := range recs[1:] {
		inst := make(map[string]any, len(header))
		for i, h := range header {
			if v, err := strconv.ParseFloat(rec[i], 64); err == nil {
				inst[h] = v
			} else {
				inst[h] = rec[i]
			}
		}
		out = append(out, inst)
	}
	return out, nil
}

// V1Bodies returns one KServe V1 request body per instance:
// {"instances": [instance]}.
func V1Bodies(instances []map[string]any) [][]byte {
	bodies := make([][]byte, 0, len(instances))
	for _, inst := range instances {
		b, _ := json.Marshal(map[string]any{"instances": []any{inst}}) // strings and float64s always encode
		bodies = append(bodies, b)
	}
	return bodies
}
