package gateway

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/modelgate/modelgate"
)

// v1Bodies are V1 bodies, well-formed and not, that the fast path must
// decode exactly as decodeV1 does.
func v1Bodies() []string {
	return []string{
		`{"instances":[{"store_id":17,"date":"2025-01-01","promo":0}]}`,
		` {"instances" : [ {"store_id": 17.5e1, "date": "2025-01-01", "promo": -0.0} ] } ` + "\n\t\r",
		`{"instances":[[1,2,3],[4,5.5,-6e-7]]}`,
		`{"inputs":[[1,2]]}`,
		`{"Instances":[[1]],"INPUTS":[[2]]}`,
		`{"instances":[[1]],"Instances":[[2]]}`,
		`{"inputs":[[2]],"instances":[[1]]}`,
		`{"instances":null,"inputs":[[2]]}`,
		`{"instances":[[1]],"instances":null}`,
		`{"instances":[[1]],"instances":[[3]]}`,
		`{"instances":[]}`,
		`{"instances":[{}, [], [[]], {"a":{}}]}`,
		`{"instances":[{"a":1,"a":2}]}`,
		`{"instances":[{"s":"caf\u00e9 \"q\" \\ \/ \b\f\n\r\t"}]}`,
		"{\"instances\":[{\"s\":\"caf\xc3\xa9\"}]}",
		"{\"instances\":[{\"s\":\"bad \xff utf8\"}]}",
		`{"instances":[{"s":"\ud83d\ude00 \ud800 lone"}]}`,
		`{"\u0069nstances":[[1]]}`,
		`{"in\u017ftances":[[1]]}`,
		`{"instances":[true,false,null,"x",1,-1,0,0.5,1E+2,1e-2,123456789012345678901234567890]}`,
		`{"instances":[[1e308],[2.2250738585072014e-308],[5e-324],[1e-400]]}`,
		`{"other":{"deep":[1,{"x":[null,true]}]},"instances":[[1]],"tail":"t"}`,
		`{}`, ``, ` `, `null`, `[]`, `[{"instances":[[1]]}]`, `"instances"`, `1`,
		`{"instances": [`, `{"instances":[[1]]`, `{"instances":[[1]]}}`, `{"instances":[[1]]} {}`, `{"instances":[[1]]} x`,
		`{"instances":[[1],]}`, `{"instances":[,]}`, `{"instances":[[1]],}`, `{,"instances":[[1]]}`,
		`{"instances":{}}`, `{"instances":true}`, `{"instances":"[]"}`, `{"instances":1}`,
		`{"instances":[01]}`, `{"instances":[1.]}`, `{"instances":[.5]}`, `{"instances":[-]}`, `{"instances":[+1]}`,
		`{"instances":[1e]}`, `{"instances":[1e+]}`, `{"instances":[1e999]}`, `{"instances":[-1e999]}`, `{"instances":[0x10]}`,
		`{"instances":[NaN]}`, `{"instances":[Infinity]}`, `{"instances":[tru]}`, `{"instances":[truex]}`, `{"instances":[nul]}`,
		`{"instances":["\x"]}`, `{"instances":["\u12"]}`, "{\"instances\":[\"a\tb\"]}", "{\"instances\":[\"a\x00b\"]}",
		`{"instances":["unterminated]}`, `{"instances":["a\"]}`, `{instances:[[1]]}`, `{'instances':[[1]]}`,
		`{"instances" [[1]]}`, `{"instances":[[1] [2]]}`, `{"instances":[{"a" 1}]}`, `{"instances":[{"a":1 "b":2}]}`,
		`{"instances":[{1:2}]}`, `{"instances":[{"a":}]}`, `{"x":}`, `{"x":[1,}`, `{"x":tru}`,
		"\ufeff{\"instances\":[[1]]}", "{\"instances\":[[1]]}\x00",
		`{"instances":[` + strings.Repeat("[", 200) + strings.Repeat("]", 200) + `]}`,
		`{"instances":[` + strings.Repeat(`{"a":`, 150) + `1` + strings.Repeat("}", 150) + `]}`,
		`{"instances":[[1],[2],[3]]}`, `{"instances":[[1],[2],[3],[4]]}`, `{"inputs":[[1],[2],[3],[4]]}`,
		`{"x":[[1],[2],[3],[4],[5]],"instances":[[1]]}`,
	}
}

// testMaxInstances is small so the instance limit is crossed by the bodies.
const testMaxInstances = 3

// decodeOld is the streaming decode every refusal comes from.
func decodeOld(body []byte) ([]any, error) {
	return decodeV1(json.NewDecoder(bytes.NewReader(body)), testMaxInstances)
}

// decodeNew is readV1Body on a request declaring its length, as clients
// such as wrk send it.
func decodeNew(bufs *buffers, body []byte) ([]any, error) {
	r := httptest.NewRequest(http.MethodPost, "/v1/models/m:predict", bytes.NewReader(body))
	return readV1Body(httptest.NewRecorder(), r, bufs, 1<<20, testMaxInstances, testNames())
}

// testNames are field names the scanner interns: the differential tests
// decode with them, so an interned key must give what decodeV1 gives.
func testNames() map[string]string {
	names := map[string]string{}
	for _, n := range []string{"store_id", "date", "promo", "a", "b", "x", "é", "instances"} {
		names[n] = n
	}
	return names
}

// sameDecode fails unless old and new decode body alike: the same
// instances, or the same error message and HTTP status.
func sameDecode(t *testing.T, bufs *buffers, body []byte) {
	t.Helper()
	want, werr := decodeOld(body)
	got, gerr := decodeNew(bufs, body)
	if (werr == nil) != (gerr == nil) || werr != nil && (werr.Error() != gerr.Error() || dataStatus(werr) != dataStatus(gerr)) {
		t.Fatalf("body %q: error %v, want %v", body, gerr, werr)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("body %q: instances %#v, want %#v", body, got, want)
	}
	if inst, ok := scanV1(body, testMaxInstances, testNames()); ok && (werr != nil || !reflect.DeepEqual(inst, want)) {
		t.Fatalf("body %q: the scanner accepted %#v; decodeV1 gives %#v, %v", body, inst, want, werr)
	}
}

func TestReadV1Body_SameAsDecodeV1(t *testing.T) {
	var bufs buffers
	accepted := 0
	for _, body := range v1Bodies() {
		sameDecode(t, &bufs, []byte(body))
		if _, ok := scanV1([]byte(body), testMaxInstances, nil); ok {
			accepted++
		}
	}
	// The fast path must be the one taken for plain bodies, not only the
	// fallback: the first body is the example's request; only the nested
	// bodies deeper than maxScanDepth and those beyond the limit are left
	// to decodeV1 among the ones it accepts.
	if _, ok := scanV1([]byte(v1Bodies()[0]), testMaxInstances, nil); !ok || accepted < 18 {
		t.Errorf("the scanner accepted %d of %d bodies, the example's among them: %v", accepted, len(v1Bodies()), ok)
	}
}

// TestReadV1Body_Mutations decodes every truncation of each body and many
// random single-byte edits of it both ways.
func TestReadV1Body_Mutations(t *testing.T) {
	var bufs buffers
	forMutations(v1Bodies(), func(b []byte) { sameDecode(t, &bufs, b) })
}

// forMutations calls check with every truncation of each body and 200
// random single-byte edits (replace, insert, delete) of it.
func forMutations(bodies []string, check func([]byte)) {
	rng := rand.New(rand.NewPCG(1, 2))
	special := []byte(`{}[],:"\ -+.eE0123456789tfnulrsa` + "\x00\x1f\x7f\x80\xff\t\n")
	for _, body := range bodies {
		b := []byte(body)
		for i := range len(b) {
			check(b[:i:i])
		}
		for range 200 {
			m := bytes.Clone(b)
			switch i := rng.IntN(len(m) + 1); rng.IntN(3) {
			case 0:
				if i < len(m) {
					m[i] = special[rng.IntN(len(special))]
				}
			case 1:
				m = append(m[:i:i], append([]byte{special[rng.IntN(len(special))]}, m[i:]...)...)
			case 2:
				if i < len(m) {
					m = append(m[:i:i], m[i+1:]...)
				}
			}
			check(m)
		}
	}
}

// TestReadV1Body_Limits keeps the body limit's answers: a declared length
// beyond it is refused before reading, a body beyond it without one (or
// lying about its length) is refused by the streaming decode.
func TestReadV1Body_Limits(t *testing.T) {
	var bufs buffers
	body := []byte(`{"instances":[[1],[2]]}`)
	for _, tt := range []struct {
		name   string
		length int64
		limit  int64
		status int
	}{
		{"DeclaredTooLong", int64(len(body)), 10, http.StatusRequestEntityTooLarge},
		{"Streamed", -1, 10, http.StatusRequestEntityTooLarge},
		{"StreamedWithin", -1, 1 << 20, http.StatusOK},
		{"Within", int64(len(body)), int64(len(body)), http.StatusOK},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/v1/models/m:predict", bytes.NewReader(body))
			r.ContentLength = tt.length
			got, err := readV1Body(httptest.NewRecorder(), r, &bufs, tt.limit, testMaxInstances, nil)
			status := http.StatusOK
			if err != nil {
				status = dataStatus(err)
			}
			if status != tt.status || err == nil && len(got) != 2 {
				t.Errorf("got %v, %v (status %d), want status %d", got, err, status, tt.status)
			}
		})
	}
}

// FuzzReadV1Body checks the fast path against decodeV1 on any body.
func FuzzReadV1Body(f *testing.F) {
	for _, b := range v1Bodies() {
		f.Add([]byte(b))
	}
	var bufs buffers
	f.Fuzz(func(t *testing.T, body []byte) {
		sameDecode(t, &bufs, body)
	})
}

// TestReadV1Body_ManyInstances decodes a large generated body both ways,
// so buffers grow and are reused.
func TestReadV1Body_ManyInstances(t *testing.T) {
	var bufs buffers
	var sb strings.Builder
	sb.WriteString(`{"instances":[`)
	for i := range 500 {
		if i > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, `{"store_id":%d,"date":"2025-01-%02d","promo":%d,"w":%g}`, i, i%28+1, i%2, float64(i)/7)
	}
	sb.WriteString(`]}`)
	body := []byte(sb.String())
	for range 3 {
		want, werr := decodeV1(json.NewDecoder(bytes.NewReader(body)), 1000)
		r := httptest.NewRequest(http.MethodPost, "/v1/models/m:predict", bytes.NewReader(body))
		got, gerr := readV1Body(httptest.NewRecorder(), r, &bufs, 1<<20, 1000, nil)
		if werr != nil || gerr != nil || !reflect.DeepEqual(got, want) || len(got) != 500 {
			t.Fatalf("got %d instances, %v; want %d, %v", len(got), gerr, len(want), werr)
		}
		r = httptest.NewRequest(http.MethodPost, "/v1/models/m:predict", bytes.NewReader(body))
		if _, err := readV1Body(httptest.NewRecorder(), r, &bufs, 1<<20, 499, nil); modelgate.ErrorMessage(err) != modelgate.ErrorMessage(tooManyInstances(499)) {
			t.Fatalf("500 instances with a limit of 499: %v", err)
		}
	}
}
