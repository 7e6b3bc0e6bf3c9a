package kserve_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/client-go/rest"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/kserve"
)

// fakeAPI answers the raw requests the Deployer makes outside the
// InferenceService (version, discovery, access reviews, pods and their
// logs), and records them, so their paths and parameters are pinned
// without a cluster.
type fakeAPI struct {
	mu       sync.Mutex
	requests []string
	reviews  []string        // "verb resource/subresource.group ns" of each SelfSubjectAccessReview
	denied   map[string]bool // reviews answered not allowed
	noCRD    bool            // /apis/serving.kserve.io/v1beta1 is 404
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, r.Method+" "+r.URL.RequestURI())
	w.Header().Set("Content-Type", "application/json")
	switch p := r.URL.Path; {
	case p == "/version":
		fmt.Fprint(w, `{"major":"1","minor":"34","gitVersion":"v1.34.4"}`)
	case p == "/apis/serving.kserve.io/v1beta1" && !f.noCRD:
		fmt.Fprint(w, `{"kind":"APIResourceList","apiVersion":"v1","groupVersion":"serving.kserve.io/v1beta1","resources":[]}`)
	case p == "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews" && r.Method == http.MethodPost:
		f.review(w, r)
	case strings.HasPrefix(p, "/api/v1/namespaces/") && (strings.HasSuffix(p, "/namespaces/mlops") || strings.HasSuffix(p, "/namespaces/mlops-staging")):
		fmt.Fprintf(w, `{"kind":"Namespace","apiVersion":"v1","metadata":{"name":%q}}`, p[len("/api/v1/namespaces/"):])
	case strings.HasSuffix(p, "/serviceaccounts/kserve-sa"):
		fmt.Fprint(w, `{"kind":"ServiceAccount","apiVersion":"v1","metadata":{"name":"kserve-sa"}}`)
	case p == "/api/v1/namespaces/mlops/pods":
		fmt.Fprint(w, `{"kind":"PodList","apiVersion":"v1","metadata":{},"items":[`+
			`{"metadata":{"name":"p2","namespace":"mlops","labels":{"serving.knative.dev/revision":"df-predictor-00002","modelgate.dev/version":"2"}}},`+
			`{"metadata":{"name":"p1","namespace":"mlops","labels":{"serving.knative.dev/revision":"df-predictor-00001","modelgate.dev/version":"1"}}}]}`)
	case p == "/api/v1/namespaces/mlops/pods/p1/log":
		fmt.Fprint(w, "INFO started\nERROR model failed\nWARNING slow\n")
	case p == "/api/v1/namespaces/mlops/pods/p2/log":
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","message":"container \"kserve-container\" in pod \"p2\" is waiting to start","reason":"BadRequest","code":400}`)
	default:
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","message":"the server could not find the requested resource","reason":"NotFound","code":404}`)
	}
}

func (f *fakeAPI) review(w http.ResponseWriter, r *http.Request) {
	var review map[string]any
	if err := json.NewDecoder(r.Body).Decode(&review); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	a, _ := review["spec"].(map[string]any)["resourceAttributes"].(map[string]any)
	s := func(k string) string { v, _ := a[k].(string); return v }
	key := fmt.Sprintf("%s %s/%s.%s %s", s("verb"), s("resource"), s("subresource"), s("group"), s("namespace"))
	f.reviews = append(f.reviews, key)
	review["status"] = map[string]any{"allowed": !f.denied[key]}
	_ = json.NewEncoder(w).Encode(review)
}

func fakeDeployer(t *testing.T, f *fakeAPI) *kserve.Deployer {
	t.Helper()
	ts := httptest.NewServer(f)
	t.Cleanup(ts.Close)
	o := testOptions()
	o.Name = "df"
	d, err := kserve.New(&rest.Config{Host: ts.URL}, o)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestPredictorLogs_Requests: pods are listed by the InferenceService label
// and each log is read from pods/log with the container and tail; a log
// that cannot be read is noted with the API server's message.
func TestPredictorLogs_Requests(t *testing.T) {
	f := &fakeAPI{}
	d := fakeDeployer(t, f)
	got, err := d.PredictorLogs(context.Background(), "demand-forecast")
	if err != nil {
		t.Fatal(err)
	}
	want := []kserve.RevisionLogs{
		{Revision: "df-predictor-00001", Version: "1", Pods: []string{"p1"}, Lines: 3, Errors: 1, Warnings: 1,
			Last: []string{"INFO started", "ERROR model failed", "WARNING slow"}},
		{Revision: "df-predictor-00002", Version: "2", Pods: []string{"p2"},
			ReadErrors: []string{`p2: read log of pod mlops/p2: the API server rejects it: container "kserve-container" in pod "p2" is waiting to start`}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("PredictorLogs (-want +got):\n%s", diff)
	}
	wantReq := []string{
		"GET /api/v1/namespaces/mlops/pods?labelSelector=serving.kserve.io%2Finferenceservice%3Ddf",
		"GET /apis/serving.kserve.io/v1beta1/namespaces/mlops/inferenceservices/df",
		"GET /api/v1/namespaces/mlops/pods/p1/log?container=kserve-container&tailLines=2000",
		"GET /api/v1/namespaces/mlops/pods/p2/log?container=kserve-container&tailLines=2000",
	}
	if diff := cmp.Diff(wantReq, f.requests); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
}

// TestCheckTarget_Requests: CheckTarget asks one SelfSubjectAccessReview
// per required permission, names the denied ones, and reports a missing
// CRD and an unreachable API server.
func TestCheckTarget_Requests(t *testing.T) {
	ctx := context.Background()
	t.Run("NoCRD", func(t *testing.T) {
		f := &fakeAPI{noCRD: true}
		err := fakeDeployer(t, f).CheckTarget(ctx, "demand-forecast")
		if modelgate.ErrorCode(err) != modelgate.EPRECONDITION || !strings.Contains(err.Error(), "the InferenceService CRD is not installed") {
			t.Fatalf("CheckTarget = %v, want EPRECONDITION: CRD not installed", err)
		}
		want := []string{"get namespaces/. "}
		for _, ns := range []string{"mlops-staging", "mlops"} {
			want = append(want, "get inferenceservices/.serving.kserve.io "+ns, "patch inferenceservices/.serving.kserve.io "+ns,
				"create inferenceservices/.serving.kserve.io "+ns, "get serviceaccounts/. "+ns)
		}
		want = append(want, "list pods/. mlops", "get pods/log. mlops", "get configmaps/. mlops", "patch configmaps/. mlops", "create configmaps/. mlops")
		if diff := cmp.Diff(want, f.reviews); diff != "" {
			t.Errorf("access reviews (-want +got):\n%s", diff)
		}
	})
	t.Run("Denied", func(t *testing.T) {
		f := &fakeAPI{denied: map[string]bool{"get pods/log. mlops": true, "get namespaces/. ": true}}
		err := fakeDeployer(t, f).CheckTarget(ctx, "demand-forecast")
		want := "modelgate is not allowed to get namespaces (cluster-wide); get pods/log in namespace mlops"
		if modelgate.ErrorCode(err) != modelgate.EUNAUTHORIZED || !strings.Contains(err.Error(), want) {
			t.Fatalf("CheckTarget = %v, want EUNAUTHORIZED containing %q", err, want)
		}
	})
	t.Run("OK", func(t *testing.T) {
		f := &fakeAPI{}
		if err := fakeDeployer(t, f).CheckTarget(ctx, "demand-forecast"); err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"GET /version", "GET /apis/serving.kserve.io/v1beta1", "GET /api/v1/namespaces/mlops-staging",
			"GET /api/v1/namespaces/mlops-staging/serviceaccounts/kserve-sa", "GET /api/v1/namespaces/mlops/serviceaccounts/kserve-sa"} {
			if !slices.Contains(f.requests, want) {
				t.Errorf("no request %q in %q", want, f.requests)
			}
		}
	})
	t.Run("Unreachable", func(t *testing.T) {
		ts := httptest.NewServer(http.NotFoundHandler())
		ts.Close()
		d, err := kserve.New(&rest.Config{Host: ts.URL}, testOptions())
		if err != nil {
			t.Fatal(err)
		}
		err = d.CheckTarget(ctx, "demand-forecast")
		if modelgate.ErrorCode(err) != modelgate.EUNAVAILABLE || !strings.Contains(err.Error(), "reach the Kubernetes API server") {
			t.Fatalf("CheckTarget = %v, want EUNAVAILABLE", err)
		}
	})
}
