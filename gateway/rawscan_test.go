package gateway

import (
	"bytes"
	"math"
	"testing"

	"github.com/modelgate/modelgate/wire"
)

// sameRaw fails unless scanRawV1, when it accepts body, splits it into the
// instances encoding/json gives.
func sameRaw(t *testing.T, body []byte) bool {
	t.Helper()
	got, ok := scanRawV1(body, testMaxInstances)
	if !ok {
		return false
	}
	want, err := unmarshalRawInstances(body, testMaxInstances)
	if err != nil {
		t.Fatalf("body %q: the scanner accepted %q; encoding/json refuses: %v", body, got, err)
	}
	if len(got) != len(want) {
		t.Fatalf("body %q: %d instances, encoding/json %d", body, len(got), len(want))
	}
	for i := range got {
		if !bytes.Equal(got[i], want[i]) {
			t.Fatalf("body %q: instance %d is %q, encoding/json %q", body, i, got[i], want[i])
		}
	}
	return true
}

func TestScanRawV1_SameAsUnmarshal(t *testing.T) {
	accepted := 0
	for _, body := range v1Bodies() {
		if sameRaw(t, []byte(body)) {
			accepted++
		}
	}
	// The example's request must take the fast path; escaped or
	// case-folded keys, too many instances and deep nesting must not.
	if !sameRaw(t, []byte(v1Bodies()[0])) || accepted < 15 {
		t.Errorf("the scanner accepted %d of %d bodies", accepted, len(v1Bodies()))
	}
	for _, body := range []string{`{"Instances":[[1]]}`, `{"\u0069nstances":[[1]]}`, `{"instances":[[1],[2],[3],[4]]}`, `{"instances":[]}`} {
		if _, ok := scanRawV1([]byte(body), testMaxInstances); ok {
			t.Errorf("the scanner accepted %s", body)
		}
	}
}

func TestScanRawV1_Mutations(t *testing.T) {
	forMutations(v1Bodies(), func(b []byte) { sameRaw(t, b) })
}

func FuzzScanRawV1(f *testing.F) {
	for _, b := range v1Bodies() {
		f.Add([]byte(b))
	}
	f.Fuzz(func(t *testing.T, body []byte) { sameRaw(t, body) })
}

// answers are V1 answers an upstream might send, good and bad.
func answers() []string {
	return []string{
		`{"predictions":[0.5,1,-2e-3,17]}`,
		` {"predictions" : [ 1 , 2 ] , "model_version":"3", "x":{"y":[null,true,"\u00e9"]}} ` + "\n",
		`{"predictions":[]}`, `{"predictions":[1],"predictions":[2,3]}`, `{"predictions":null}`,
		`{"predictions":[1,null]}`, `{"predictions":["NaN"]}`, `{"predictions":[NaN]}`, `{"predictions":[1e999]}`,
		`{"predictions":[[1],[2]]}`, `{"predictions":[{"a":1}]}`, `{"Predictions":[1]}`, `{"predictions":[1],"PREDICTIONS":[2]}`, `{"pr\u0065dictions":[1]}`,
		`{"predictions":[1,]}`, `{"predictions":[01]}`, `{"predictions":[1]}x`, `{"predictions":[1]`, `{}`, `[]`, ``,
		`{"predictions":[5e-324,1.7976931348623157e308,-0,123456789012345678901234567890]}`,
		`{"outputs":[1],"predictions":[4]}`, `{"predictions":[1],"x":[` + string(bytes.Repeat([]byte("["), 200)) + `]}`,
	}
}

// samePredictions fails unless scanPredictions, when it accepts b, reads
// the numbers wire.DecodeV1Predictions reads, bit for bit.
func samePredictions(t *testing.T, b []byte) bool {
	t.Helper()
	got, ok := scanPredictions(b)
	if !ok {
		return false
	}
	want, err := wire.DecodeV1Predictions(b)
	if err != nil {
		t.Fatalf("answer %q: the scanner read %v; wire refuses: %v", b, got, err)
	}
	if got == nil || len(got) != len(want) {
		t.Fatalf("answer %q: %v, wire %v", b, got, want)
	}
	for i := range got {
		if math.Float64bits(got[i]) != math.Float64bits(want[i]) {
			t.Fatalf("answer %q: prediction %d is %v, wire %v", b, i, got[i], want[i])
		}
	}
	return true
}

func TestScanPredictions_SameAsWire(t *testing.T) {
	accepted := 0
	for _, b := range answers() {
		if samePredictions(t, []byte(b)) {
			accepted++
		}
	}
	if !samePredictions(t, []byte(answers()[0])) || accepted < 6 {
		t.Errorf("the scanner accepted %d of %d answers", accepted, len(answers()))
	}
	forMutations(answers(), func(b []byte) { samePredictions(t, b) })
}

func FuzzScanPredictions(f *testing.F) {
	for _, b := range answers() {
		f.Add([]byte(b))
	}
	f.Fuzz(func(t *testing.T, b []byte) { samePredictions(t, b) })
}
