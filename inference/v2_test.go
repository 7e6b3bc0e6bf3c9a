package inference_test

import (
	"context"
	"math"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/inference"
	"github.com/modelgate/modelgate/wire"
)

func TestInfer(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v2/models/m/infer" {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write([]byte(`{"model_name":"m","model_version":"3","outputs":[{"name":"predict","datatype":"FP64","shape":[2],"data":[[1.5],[NaN]]}]}`))
	}))
	defer srv.Close()
	res, err := inference.Client{}.Infer(context.Background(), modelgate.Endpoint{URL: srv.URL, Name: "m"}, wire.V2Request{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != 200 || res.ModelVersion != "3" || len(res.Predictions) != 2 || res.Predictions[0] != 1.5 || !math.IsNaN(res.Predictions[1]) {
		t.Fatalf("result %+v", res)
	}
	_, err = inference.Client{}.Metadata(context.Background(), modelgate.Endpoint{URL: srv.URL, Name: "m"})
	if modelgate.ErrorCode(err) != modelgate.ENOTFOUND {
		t.Fatalf("metadata of a server without it: %v", err)
	}
}
