package lightgbm

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/modelgate/modelgate"
)

// maxLine bounds one line of a model file; feature_infos of a model with
// many categorical features is the longest.
const maxLine = 64 << 20

// ParseFile reads a LightGBM text model from path. Errors are EINVALID and
// name the file and line of a malformed model, ENOTFOUND if the file is missing.
func ParseFile(path string) (*Model, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, modelgate.Errorf(modelgate.ENOTFOUND, "model file %s does not exist", path)
	} else if err != nil {
		return nil, fmt.Errorf("open model file: %w", err)
	}
	defer f.Close()
	m, err := Parse(f)
	if err != nil {
		return nil, inFile(path, err)
	}
	return m, nil
}

// inFile prefixes a parse error's message with the file it is about.
func inFile(path string, err error) error {
	var e *modelgate.Error
	if errors.As(err, &e) {
		return &modelgate.Error{Code: e.Code, Message: path + ": " + e.Message, Hint: e.Hint, Err: err}
	}
	return fmt.Errorf("read %s: %w", path, err)
}

// Parse reads a LightGBM text model (what Booster.save_model and
// model_to_string write). Sections after "end of trees" are ignored except
// the pandas_categorical trailer. A malformed model is EINVALID with the line
// number in the message.
func Parse(r io.Reader) (*Model, error) {
	s := newLineScanner(r)
	h, err := s.header()
	if err != nil {
		return nil, err
	}
	m, err := h.model()
	if err != nil {
		return nil, err
	}
	if err := s.trees(m); err != nil {
		return nil, err
	}
	if err := h.checkTreeCount(m); err != nil {
		return nil, err
	}
	if err := checkScoreRange(m); err != nil {
		return nil, err
	}
	if m.pandasCats, err = s.trailer(); err != nil {
		return nil, err
	}
	m.flat = flatten(m.trees)
	return m, nil
}

// lineScanner reads lines, counting them and allowing one step back.
type lineScanner struct {
	sc     *bufio.Scanner
	line   int  // number of the line last returned
	reread bool // next returns the last line again
	text   string
}

func newLineScanner(r io.Reader) *lineScanner {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxLine)
	return &lineScanner{sc: sc}
}

// next returns the next line without its line ending; ok is false at the end.
func (s *lineScanner) next() (text string, ok bool, err error) {
	if s.reread {
		s.reread = false
		return s.text, true, nil
	}
	if !s.sc.Scan() {
		if err := s.sc.Err(); errors.Is(err, bufio.ErrTooLong) {
			return "", false, lineErrorf(s.line+1, "longer than %d bytes", maxLine)
		} else if err != nil {
			return "", false, fmt.Errorf("read model after line %d: %w", s.line, err)
		}
		return "", false, nil
	}
	s.line++
	s.text = strings.TrimSuffix(s.sc.Text(), "\r")
	return s.text, true, nil
}

func (s *lineScanner) unread() { s.reread = true }

// lineErrorf is an EINVALID error about line n.
func lineErrorf(n int, format string, args ...any) error {
	return modelgate.Errorf(modelgate.EINVALID, "line %d: %s", n, fmt.Sprintf(format, args...))
}

// field is one key=value line.
type field struct {
	value string
	line  int
}

// header is the key=value section before the first tree.
type header map[string]field

// header reads from the "tree" line up to the first "Tree=" line.
func (s *lineScanner) header() (header, error) {
	first, err := s.firstLine()
	if err != nil {
		return nil, err
	}
	if first != "tree" {
		return nil, lineErrorf(s.line, "not a LightGBM text model: the first line is %q, want \"tree\"", clip(first))
	}
	h := header{}
	for {
		text, ok, err := s.next()
		if err != nil {
			return nil, err
		} else if !ok {
			return nil, lineErrorf(s.line, "the file ends before the first tree; the model is truncated")
		}
		if strings.HasPrefix(text, "Tree=") || text == "end of trees" {
			s.unread()
			return h, nil
		}
		if text != "" {
			k, v, _ := strings.Cut(text, "=")
			h[k] = field{value: v, line: s.line}
		}
	}
}

func (s *lineScanner) firstLine() (string, error) {
	for {
		text, ok, err := s.next()
		if err != nil {
			return "", err
		} else if !ok {
			return "", modelgate.Errorf(modelgate.EINVALID, "the model file is empty")
		} else if strings.TrimSpace(text) != "" {
			return text, nil
		}
	}
}

// model checks the header and builds a Model without trees.
func (h header) model() (*Model, error) {
	m := &Model{}
	if err := h.version(m); err != nil {
		return nil, err
	}
	numClass, err := h.int("num_class", 1, true)
	if err != nil {
		return nil, err
	}
	m.outputs, err = h.int("num_tree_per_iteration", 1, false)
	if err != nil {
		return nil, err
	} else if m.outputs == 0 {
		m.outputs = numClass
	}
	if err := h.features(m); err != nil {
		return nil, err
	}
	_, m.averageOutput = h["average_output"]
	obj := h["objective"]
	if m.objective, err = parseObjective(obj.value, m.outputs); err != nil {
		return nil, lineErrorf(obj.line, "%s", modelgate.ErrorMessage(err))
	}
	return m, nil
}

func (h header) version(m *Model) error {
	f, ok := h["version"]
	if !ok {
		return modelgate.Errorf(modelgate.EINVALID, "the header has no version line")
	}
	if f.value != "v3" && f.value != "v4" {
		return lineErrorf(f.line, "model format version %q is not supported; want v3 or v4", f.value)
	}
	m.version = f.value
	return nil
}

func (h header) features(m *Model) error {
	maxIdx, err := h.int("max_feature_idx", 0, true)
	if err != nil {
		return err
	}
	names, ok := h["feature_names"]
	if !ok {
		return modelgate.Errorf(modelgate.EINVALID, "the header has no feature_names line")
	}
	m.featureNames = strings.Fields(names.value)
	if len(m.featureNames) != maxIdx+1 {
		return lineErrorf(names.line, "feature_names lists %d names, max_feature_idx=%d wants %d", len(m.featureNames), maxIdx, maxIdx+1)
	}
	return nil
}

// int reads a header integer of at least min; an absent optional one is 0.
func (h header) int(key string, min int, required bool) (int, error) {
	f, ok := h[key]
	if !ok {
		if required {
			return 0, modelgate.Errorf(modelgate.EINVALID, "the header has no %s line", key)
		}
		return 0, nil
	}
	n, err := strconv.Atoi(strings.TrimSpace(f.value))
	if err != nil || n < min {
		return 0, lineErrorf(f.line, "%s: %q is not an integer >= %d", key, clip(f.value), min)
	}
	return n, nil
}

// checkTreeCount compares the trees read with tree_sizes and the number of
// outputs.
func (h header) checkTreeCount(m *Model) error {
	if len(m.trees) == 0 {
		return modelgate.Errorf(modelgate.EINVALID, "the model has no trees")
	}
	if f, ok := h["tree_sizes"]; ok {
		if n := len(strings.Fields(f.value)); n != len(m.trees) {
			return lineErrorf(f.line, "tree_sizes lists %d trees, the file holds %d", n, len(m.trees))
		}
	}
	if len(m.trees)%m.outputs != 0 {
		return modelgate.Errorf(modelgate.EINVALID, "%d trees do not make whole iterations of %d trees", len(m.trees), m.outputs)
	}
	return nil
}

// checkScoreRange makes sure no row's raw score can overflow: for every
// output, the largest leaf values of its trees add up to a finite number.
func checkScoreRange(m *Model) error {
	sums := make([]float64, m.outputs)
	for i, t := range m.trees {
		largest := 0.0
		for _, v := range t.leaves {
			largest = max(largest, math.Abs(v))
		}
		if t.linear != nil { // the constants only: the linear terms grow with the row
			for _, v := range t.linear.consts {
				largest = max(largest, math.Abs(v))
			}
		}
		sums[i%m.outputs] += largest
	}
	for k, sum := range sums {
		if math.IsInf(sum, 0) {
			return modelgate.Errorf(modelgate.EINVALID, "the leaf values of output %d's trees can add up beyond the range of a float64", k)
		}
	}
	return nil
}

// trees reads "Tree=<n>" blocks up to "end of trees".
func (s *lineScanner) trees(m *Model) error {
	for {
		text, ok, err := s.next()
		if err != nil {
			return err
		} else if !ok {
			return lineErrorf(s.line, "the file ends without \"end of trees\"; the model is truncated")
		}
		switch {
		case text == "":
		case text == "end of trees":
			return nil
		case strings.HasPrefix(text, "Tree="):
			if err := s.tree(m, text); err != nil {
				return err
			}
		default:
			return lineErrorf(s.line, "want \"Tree=<n>\" or \"end of trees\", got %q", clip(text))
		}
	}
}

// tree reads one block, whose "Tree=<n>" line was just read.
func (s *lineScanner) tree(m *Model, title string) error {
	want := len(m.trees)
	if n, err := strconv.Atoi(strings.TrimPrefix(title, "Tree=")); err != nil || n != want {
		return lineErrorf(s.line, "got %q, want \"Tree=%d\"", clip(title), want)
	}
	b := block{index: want, start: s.line, fields: map[string]field{}}
	for {
		text, ok, err := s.next()
		if err != nil {
			return err
		}
		if !ok || text == "" || strings.HasPrefix(text, "Tree=") || text == "end of trees" {
			if ok && text != "" {
				s.unread()
			}
			break
		}
		k, v, found := strings.Cut(text, "=")
		if !found {
			return lineErrorf(s.line, "tree %d: want key=value, got %q", want, clip(text))
		}
		b.fields[k] = field{value: v, line: s.line}
	}
	t, err := b.tree(len(m.featureNames))
	if err != nil {
		return err
	}
	m.trees = append(m.trees, t)
	return nil
}

// trailer returns the pandas_categorical JSON, "" for null, [] or absent.
func (s *lineScanner) trailer() (string, error) {
	for {
		text, ok, err := s.next()
		if err != nil || !ok {
			return "", err
		}
		if v, found := strings.CutPrefix(text, "pandas_categorical:"); found {
			// A DataFrame without category columns gives [], a NumPy array null.
			if v = strings.TrimSpace(v); v == "null" || v == "[]" {
				v = ""
			}
			return v, nil
		}
	}
}

// clip shortens text quoted in an error.
func clip(s string) string {
	if len(s) > 60 {
		return s[:60] + "…"
	}
	return s
}
