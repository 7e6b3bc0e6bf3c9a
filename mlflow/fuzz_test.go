package mlflow_test

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"testing"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/mlflow"
)

// maxFuzzRequests bounds the requests one call may make on one answer.
const maxFuzzRequests = 8

// FuzzDecodeResponse answers every request of the registry's read calls
// with one fuzzed status and body, through an in-process transport (no
// server): GetModel, GetVersion, GetVersionByAlias, ListModels,
// ListVersions and VersionMetrics. Properties: nothing panics; every error
// is a *modelgate.Error with a known code; a call makes at most a few
// requests however the answer pages. Seeds: testdata/fuzz/FuzzDecodeResponse
// (the bodies of fault_test.go and MLflow's documented answers).
func FuzzDecodeResponse(f *testing.F) {
	f.Fuzz(func(t *testing.T, status uint16, body []byte) {
		tr := &answer{status: 100 + int(status)%500, body: body}
		r, err := mlflow.New(mlflow.Options{URI: "http://mlflow.invalid/prefix", Retries: -1,
			HTTPClient: &http.Client{Transport: tr}})
		if err != nil {
			t.Fatal(err)
		}
		ctx := t.Context()
		calls := map[string]func() error{
			"GetModel":          func() error { _, err := r.GetModel(ctx, "fraud"); return err },
			"GetVersion":        func() error { _, err := r.GetVersion(ctx, "fraud", "7"); return err },
			"GetVersionByAlias": func() error { _, err := r.GetVersionByAlias(ctx, "fraud", "champion"); return err },
			"ListModels":        func() error { _, err := r.ListModels(ctx); return err },
			"ListVersions":      func() error { _, err := r.ListVersions(ctx, "fraud"); return err },
			"VersionMetrics":    func() error { _, err := r.VersionMetrics(ctx, "fraud", "7"); return err },
		}
		for name, call := range calls {
			tr.n = 0
			err := call()
			if tr.n > maxFuzzRequests {
				t.Fatalf("%s made %d requests on one answer", name, tr.n)
			}
			checkError(t, name, err)
		}
	})
}

// checkError fails unless err is nil or a *modelgate.Error with a known code.
func checkError(t *testing.T, call string, err error) {
	t.Helper()
	var me *modelgate.Error
	if err == nil {
		return
	} else if !errors.As(err, &me) {
		t.Fatalf("%s: error %v (%T) is not a *modelgate.Error", call, err, err)
	}
	switch me.Code {
	case modelgate.ECONFLICT, modelgate.EINTERNAL, modelgate.EINVALID, modelgate.ENOTFOUND,
		modelgate.EUNAVAILABLE, modelgate.EUNAUTHORIZED:
	default:
		t.Fatalf("%s: error %v has code %q", call, err, me.Code)
	}
	if me.Message == "" {
		t.Fatalf("%s: error %#v has no message", call, me)
	}
}

// answer is an http.RoundTripper giving every request the same answer, and
// refusing requests beyond maxFuzzRequests so that a call that would never
// stop does.
type answer struct {
	status int
	body   []byte
	n      int // requests since reset
}

func (a *answer) RoundTrip(req *http.Request) (*http.Response, error) {
	a.n++
	if req.Body != nil {
		req.Body.Close()
	}
	if a.n > maxFuzzRequests {
		return nil, errors.New("too many requests")
	}
	return &http.Response{StatusCode: a.status, Status: http.StatusText(a.status), Header: http.Header{},
		Body: io.NopCloser(bytes.NewReader(a.body)), Request: req}, nil
}
