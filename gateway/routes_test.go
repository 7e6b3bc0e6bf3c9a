package gateway

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// FuzzV1PredictPath: every path the data plane routes to a V1 prediction
// by itself is one its ServeMux routes to the same handler, with the same
// environment and model name.
func FuzzV1PredictPath(f *testing.F) {
	for _, p := range []string{
		"/v1/models/iris:predict", "/staging/v1/models/iris:predict", "/v1/models/:predict",
		"/v1/models/a:b:predict", "/v1/models/..:predict", "/v1/models/a/b:predict",
		"//v1/models/iris:predict", "/v1/models/iris:predict/", "/staging//v1/models/x:predict",
		"/staging/../v1/models/x:predict", "/v1/models/a b:predict", "/v1/models/é:predict",
		"/v1/models/iris:explain", "/stagingv1/models/x:predict", "/v2/models/x:predict",
	} {
		f.Add(p)
	}
	mux := (&Server{}).dataServeMux()
	f.Fuzz(func(t *testing.T, p string) {
		e, name, ok := v1PredictPath(p)
		if !ok {
			return
		}
		r := &http.Request{Method: http.MethodPost, URL: &url.URL{Path: p}, Host: "x", Header: http.Header{}}
		_, pattern := mux.Handler(r)
		want := "POST /v1/models/{rest}"
		if e == envStaging {
			want = "POST " + StagingPrefix + "/v1/models/{rest}"
		}
		if pattern != want {
			t.Fatalf("%q: routed as a prediction (env %d), the mux routes it to %q", p, e, pattern)
		}
		if last := p[strings.LastIndexByte(p, '/')+1:]; last != name+":predict" {
			t.Fatalf("%q: model %q, the mux's segment is %q", p, name, last)
		}
	})
}
