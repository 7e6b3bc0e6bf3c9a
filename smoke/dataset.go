package smoke

import (
	"encoding/csv"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"

	"github.com/modelgate/modelgate"
)

// ArtifactPrefix marks an evaluation data set stored in the version's
// registry artifact: "artifact:eval/ground_truth.parquet" is that file of the
// verified (digest-checked) model directory.
const ArtifactPrefix = "artifact:"

// dataset is a ground-truth table: raw request fields per row, the target
// and, when a segment column is named, each row's segment.
type dataset struct {
	path     string
	rows     []any // map[string]any instances, the target removed
	y        []float64
	segments []string // nil without a segment column
}

// resolveDataset returns the local path of spec: a path, or a file of the
// model directory dir for an artifact: spec.
func resolveDataset(spec, dir string) (string, error) {
	rel, ok := strings.CutPrefix(spec, ArtifactPrefix)
	if !ok {
		return spec, nil
	}
	if dir == "" || !filepath.IsLocal(rel) {
		return "", modelgate.Errorf(modelgate.EINVALID, "evaluation data set %q: expected artifact:<path inside the model directory>", spec)
	}
	return filepath.Join(dir, filepath.FromSlash(rel)), nil
}

// readDataset reads a CSV or (by its .parquet extension) Parquet file.
func readDataset(path, target, segment string) (*dataset, error) {
	var header []string
	var records [][]any
	var err error
	if strings.EqualFold(filepath.Ext(path), ".parquet") {
		header, records, err = readParquet(path)
	} else {
		header, records, err = readCSV(path)
	}
	if err != nil {
		return nil, err
	}
	ti := indexOf(header, target)
	if ti < 0 {
		return nil, modelgate.Errorf(modelgate.EINVALID, "evaluation data set %s has no target column %q (columns: %v)", path, target, header)
	}
	si := -1
	if segment != "" {
		if si = indexOf(header, segment); si < 0 {
			return nil, modelgate.Errorf(modelgate.EINVALID, "evaluation data set %s has no segment column %q (columns: %v)", path, segment, header)
		}
	}
	ds := &dataset{path: path}
	for n, rec := range records {
		y, ok := rec[ti].(float64)
		if !ok {
			return nil, modelgate.Errorf(modelgate.EINVALID, "evaluation data set %s row %d: target %v is not a number", path, n+1, rec[ti])
		}
		inst := make(map[string]any, len(header)-1)
		for i, h := range header {
			if i != ti {
				inst[h] = rec[i]
			}
		}
		ds.rows, ds.y = append(ds.rows, inst), append(ds.y, y)
		if si >= 0 {
			ds.segments = append(ds.segments, segmentKey(rec[si]))
		}
	}
	if len(ds.y) == 0 {
		return nil, modelgate.Errorf(modelgate.EINVALID, "evaluation data set %s has no rows", path)
	}
	return ds, nil
}

func segmentKey(v any) string {
	if f, ok := v.(float64); ok {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	if v == nil {
		return "null"
	}
	s, _ := v.(string)
	return s
}

// readCSV reads a CSV with a header; fields that parse as numbers become
// float64, others stay strings.
func readCSV(path string) ([]string, [][]any, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, modelgate.Errorf(modelgate.EINVALID, "cannot open the evaluation data set: %v", err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.ReuseRecord = true
	header, err := r.Read()
	if err != nil {
		return nil, nil, modelgate.Errorf(modelgate.EINVALID, "evaluation data set %s has no header: %v", path, err)
	}
	header = append([]string(nil), header...)
	var records [][]any
	for line := 2; ; line++ {
		rec, err := r.Read()
		if err == io.EOF {
			break
		} else if err != nil {
			return nil, nil, modelgate.Errorf(modelgate.EINVALID, "evaluation data set %s line %d: %v", path, line, err)
		}
		row := make([]any, len(rec))
		for i, s := range rec {
			if v, err := strconv.ParseFloat(s, 64); err == nil {
				row[i] = v
			} else {
				row[i] = strings.Clone(s)
			}
		}
		records = append(records, row)
	}
	return header, records, nil
}

// readParquet reads a flat Parquet file: numbers become float64, strings
// and byte arrays strings, DATE columns "2006-01-02" strings, nulls nil.
func readParquet(path string) ([]string, [][]any, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, modelgate.Errorf(modelgate.EINVALID, "cannot open the evaluation data set: %v", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	pf, err := parquet.OpenFile(f, st.Size())
	if err != nil {
		return nil, nil, modelgate.Errorf(modelgate.EINVALID, "evaluation data set %s is not a Parquet file: %v", path, err)
	}
	schema := pf.Schema()
	cols := schema.Columns()
	header := make([]string, len(cols))
	dates := make([]bool, len(cols))
	for i, p := range cols {
		if len(p) != 1 {
			return nil, nil, modelgate.Errorf(modelgate.EINVALID, "evaluation data set %s: column %s is nested; expected a flat table", path, strings.Join(p, "."))
		}
		header[i] = p[0]
		if leaf, ok := schema.Lookup(p...); ok {
			if lt := leaf.Node.Type().LogicalType(); lt != nil {
				_, dates[i] = lt.Value.(*format.DateType)
			}
		}
	}
	r := parquet.NewReader(pf)
	defer r.Close()
	var records [][]any
	buf := make([]parquet.Row, 256)
	for {
		n, err := r.ReadRows(buf)
		for _, row := range buf[:n] {
			rec := make([]any, len(cols))
			for _, v := range row {
				if c := v.Column(); c >= 0 && c < len(rec) {
					rec[c] = parquetValue(v, dates[c])
				}
			}
			records = append(records, rec)
		}
		if errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, nil, modelgate.Errorf(modelgate.EINVALID, "read evaluation data set %s: %v", path, err)
		}
	}
	return header, records, nil
}

func parquetValue(v parquet.Value, date bool) any {
	if v.IsNull() {
		return nil
	}
	switch v.Kind() {
	case parquet.Boolean:
		if v.Boolean() {
			return 1.0
		}
		return 0.0
	case parquet.Int32:
		if date {
			return time.Unix(int64(v.Int32())*86400, 0).UTC().Format(time.DateOnly)
		}
		return float64(v.Int32())
	case parquet.Int64:
		return float64(v.Int64())
	case parquet.Float:
		return float64(v.Float())
	case parquet.Double:
		return v.Double()
	case parquet.ByteArray, parquet.FixedLenByteArray:
		return string(v.ByteArray())
	}
	return v.String()
}

func parseFloat(s string) (float64, error) { return strconv.ParseFloat(s, 64) }

func indexOf(xs []string, s string) int {
	for i, x := range xs {
		if x == s {
			return i
		}
	}
	return -1
}
