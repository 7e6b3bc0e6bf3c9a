package mlflow_test

import (
	"encoding/pem"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/mlflow"
	"github.com/modelgate/modelgate/modelgatetest"
)

// Fault injection that a real server cannot be made to produce: an
// httptest server answering with faults. Everything else runs against the
// real MLflow.

const versionJSON = `{"model_version": {"name": "fraud", "version": "7", "current_stage": "Staging", "creation_timestamp": 1700000000000}}`

// fake serves handler under a path prefix and counts requests.
func fake(t *testing.T, handler http.HandlerFunc) (*mlflow.Registry, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		if !strings.HasPrefix(r.URL.Path, "/prefix/api/2.0/") {
			t.Errorf("request to %s, want it under the base URL's /prefix", r.URL.Path)
		}
		handler(w, r)
	}))
	t.Cleanup(srv.Close)
	r, err := mlflow.New(mlflow.Options{URI: srv.URL + "/prefix/", Token: "tok", Retries: 3,
		Backoff: time.Millisecond, Timeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return r, &n
}

func TestFault_RetriesIdempotentCalls(t *testing.T) {
	var calls atomic.Int64
	r, n := fake(t, func(w http.ResponseWriter, req *http.Request) {
		if got := req.Header.Get("Authorization"); got != "Bearer tok" {
			t.Errorf("Authorization %q, want the bearer token", got)
		}
		if calls.Add(1) < 3 {
			http.Error(w, "upstream connect error", http.StatusBadGateway)
			return
		}
		w.Write([]byte(versionJSON))
	})
	mv, err := r.GetVersion(t.Context(), "fraud", "7")
	if err != nil || mv.Stage != modelgate.StageStaging {
		t.Fatalf("GetVersion after two 502s = %v, %v; want the version", mv, err)
	}
	if n.Load() != 3 || r.Stats().Retries != 2 {
		t.Errorf("%d requests, stats %+v; want 3 requests and 2 retries", n.Load(), r.Stats())
	}
}

func TestFault_GivesUpWithUnavailable(t *testing.T) {
	r, n := fake(t, func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte(`{"error_code": "TEMPORARILY_UNAVAILABLE", "message": "database is locked"}`))
	})
	_, err := r.GetVersion(t.Context(), "fraud", "7")
	if modelgate.ErrorCode(err) != modelgate.EUNAVAILABLE || !strings.Contains(modelgate.ErrorMessage(err), "database is locked") {
		t.Errorf("error %v (code %s), want unavailable with MLflow's message", err, modelgate.ErrorCode(err))
	}
	if n.Load() != 4 {
		t.Errorf("%d requests, want 1 + 3 retries", n.Load())
	}
}

// Creating a version is not idempotent: a 5xx after the request reached
// the server is not retried, since the version may exist.
func TestFault_NoRetryOfCreate(t *testing.T) {
	var creates atomic.Int64
	r, _ := fake(t, func(w http.ResponseWriter, req *http.Request) {
		switch {
		case strings.HasSuffix(req.URL.Path, "experiments/get-by-name"):
			w.Write([]byte(`{"experiment": {"experiment_id": "1"}}`))
		case strings.HasSuffix(req.URL.Path, "runs/create"):
			w.Write([]byte(`{"run": {"info": {"run_id": "r1", "artifact_uri": "mlflow-artifacts:/1/r1/artifacts"}}}`))
		case strings.HasSuffix(req.URL.Path, "model-versions/create"):
			creates.Add(1)
			http.Error(w, "boom", http.StatusInternalServerError)
		default:
			w.Write([]byte(`{}`))
		}
	})
	_, err := r.CreateVersion(t.Context(), modelgate.NewVersion{Name: "fraud", Dir: modelgatetest.MustModelDir(t, "x")})
	if err == nil || creates.Load() != 1 {
		t.Errorf("CreateVersion = %v after %d create requests; want an error after exactly 1", err, creates.Load())
	}
}

func TestFault_Timeout(t *testing.T) {
	r, n := fake(t, func(w http.ResponseWriter, req *http.Request) {
		select {
		case <-time.After(2 * time.Second):
		case <-req.Context().Done():
		}
	})
	start := time.Now()
	_, err := r.GetModel(t.Context(), "fraud")
	if modelgate.ErrorCode(err) != modelgate.EUNAVAILABLE {
		t.Errorf("error %v, want unavailable", err)
	}
	if n.Load() != 4 || time.Since(start) > 1500*time.Millisecond {
		t.Errorf("%d requests in %s; want 4 attempts of 200ms each", n.Load(), time.Since(start))
	}
}

func TestFault_MalformedBody(t *testing.T) {
	r, _ := fake(t, func(w http.ResponseWriter, _ *http.Request) {
		w.Write([]byte(`{"model_version": {"name": "fraud", "vers`))
	})
	_, err := r.GetVersion(t.Context(), "fraud", "7")
	if err == nil || !strings.Contains(modelgate.ErrorMessage(err), "malformed body") {
		t.Errorf("error %v, want a malformed-body error", err)
	}
}

func TestFault_ErrorMapping(t *testing.T) {
	tests := []struct {
		status int
		body   string
		code   string
		msg    string
	}{
		{404, `{"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "Registered Model with name=fraud not found"}`, modelgate.ENOTFOUND, "Registered Model with name=fraud not found"},
		{400, `{"error_code": "INVALID_PARAMETER_VALUE", "message": "Registered model alias champion not found."}`, modelgate.ENOTFOUND, "alias champion not found"},
		{400, `{"error_code": "RESOURCE_ALREADY_EXISTS", "message": "exists"}`, modelgate.ECONFLICT, "exists"},
		{401, `You are not authenticated. Please see https://www.mlflow.org/docs/latest/auth/index.html`, modelgate.EUNAUTHORIZED, "not authenticated"},
		{403, `{"error_code": "PERMISSION_DENIED", "message": "Permission denied"}`, modelgate.EUNAUTHORIZED, "Permission denied"},
		{403, `Invalid Host header - possible DNS rebinding attack detected`, modelgate.EUNAUTHORIZED, "Invalid Host header"},
		{501, `{"error_code": "NOT_IMPLEMENTED", "message": "no stages on Unity Catalog"}`, modelgate.EINTERNAL, "no stages"},
	}
	for _, tt := range tests {
		r, n := fake(t, func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(tt.status)
			w.Write([]byte(tt.body))
		})
		_, err := r.GetModel(t.Context(), "fraud")
		if code := modelgate.ErrorCode(err); code != tt.code || !strings.Contains(modelgate.ErrorMessage(err), tt.msg) {
			t.Errorf("%d %s: error %q (code %s), want code %s with %q", tt.status, tt.body, modelgate.ErrorMessage(err), code, tt.code, tt.msg)
		}
		if n.Load() != 1 {
			t.Errorf("%d: %d requests; a 4xx is never retried", tt.status, n.Load())
		}
	}
}

func TestFault_Pagination(t *testing.T) {
	r, _ := fake(t, func(w http.ResponseWriter, req *http.Request) {
		if mr := req.URL.Query().Get("max_results"); mr != "1000" {
			t.Errorf("max_results = %q, want 1000", mr)
		}
		switch req.URL.Query().Get("page_token") {
		case "":
			w.Write([]byte(`{"registered_models": [{"name": "b"}, {"name": "c"}], "next_page_token": "p2"}`))
		case "p2":
			w.Write([]byte(`{"registered_models": [{"name": "a"}]}`))
		default:
			t.Errorf("unexpected page token %q", req.URL.Query().Get("page_token"))
		}
	})
	models, err := r.ListModels(t.Context())
	if err != nil || len(models) != 3 || models[0].Name != "a" || models[2].Name != "c" {
		t.Errorf("ListModels = %v, %v; want a, b, c from two pages", models, err)
	}
}

func TestOptions(t *testing.T) {
	for _, o := range []mlflow.Options{
		{},
		{URI: "ftp://host"},
		{URI: "http://"},
		{URI: "http://host?x=1"},
		{URI: "http://host", RequireSignature: true},
		{URI: "http://host", CAFile: "/nonexistent/ca.pem"},
		{URI: "http://host", PublicKeys: []string{"/nonexistent/key.pem"}},
	} {
		if _, err := mlflow.New(o); modelgate.ErrorCode(err) != modelgate.EINVALID {
			t.Errorf("New(%+v) = %v, want invalid", o, err)
		}
	}
	t.Setenv("MLFLOW_TRACKING_URI", "https://mlflow.example/team")
	t.Setenv("MLFLOW_TRACKING_USERNAME", "alice")
	t.Setenv("MLFLOW_TRACKING_TOKEN", "tok")
	t.Setenv("MLFLOW_TRACKING_INSECURE_TLS", "true")
	o := mlflow.OptionsFromEnv()
	if o.URI != "https://mlflow.example/team" || o.Username != "alice" || o.Token != "tok" || !o.Insecure {
		t.Errorf("OptionsFromEnv = %+v", o)
	}
}

func TestTLS(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte(versionJSON)) }))
	t.Cleanup(srv.Close)
	ca := filepath.Join(t.TempDir(), "ca.pem")
	mustWrite(t, ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}))
	for _, tt := range []struct {
		name string
		opts mlflow.Options
		code string
	}{
		{"custom CA", mlflow.Options{CAFile: ca}, ""},
		{"insecure", mlflow.Options{Insecure: true}, ""},
		{"unknown CA", mlflow.Options{}, modelgate.EUNAVAILABLE},
	} {
		tt.opts.URI, tt.opts.Backoff = srv.URL, time.Millisecond
		r, err := mlflow.New(tt.opts)
		if err != nil {
			t.Fatal(err)
		}
		_, err = r.GetVersion(t.Context(), "fraud", "7")
		if got := modelgate.ErrorCode(err); got != tt.code {
			t.Errorf("%s: error %v, want code %q", tt.name, err, tt.code)
		}
		if tt.code != "" && r.Stats().Attempts != 1 {
			t.Errorf("%s: %d attempts; a certificate error is not retried", tt.name, r.Stats().Attempts)
		}
	}
}

// A frozen MLflow is not waited on in silence: every retry is logged with
// the attempt, its timeout and the wait before the next.
func TestFault_FrozenServerRetriesAreLogged(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		<-req.Context().Done()
	}))
	t.Cleanup(srv.Close)
	var log strings.Builder
	r, err := mlflow.New(mlflow.Options{URI: srv.URL, Retries: 2, Backoff: time.Millisecond, Timeout: 100 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(&log, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.GetModel(t.Context(), "fraud"); modelgate.ErrorCode(err) != modelgate.EUNAVAILABLE {
		t.Fatalf("error %v, want unavailable", err)
	}
	for _, want := range []string{"attempt 1 of 3, each up to 100ms", "attempt 2 of 3", "retrying in"} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("the log lacks %q:\n%s", want, log.String())
		}
	}
}
