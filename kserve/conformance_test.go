package kserve_test

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/kserve"
	"github.com/modelgate/modelgate/kserve/kservetest"
	"github.com/modelgate/modelgate/modelgatetest"
)

// headerVersion is where the stand-in data plane names the version that
// answered.
const headerVersion = "X-Model-Version"

// TestDeployerConformance runs the deployer suite as the RBAC-limited
// service account, with KServe's real controller manager deciding status
// (the Knative Service stand-in playing Knative) and the stand-in data
// plane reached as a cluster's ingress would be: an HTTP proxy in front of
// the URLs KServe publishes. A repeated call must create no revision,
// change no spec generation and keep when the split was set.
func TestDeployerConformance(t *testing.T) {
	c := mustCluster(t)
	dp := httptest.NewServer(dataPlane{c})
	t.Cleanup(dp.Close)
	proxy, err := url.Parse(dp.URL)
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(proxy)}, Timeout: 10 * time.Second}
	d := deployerOn(t, c, testOptions())
	clock := modelgatetest.NewClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	d.Now = func() time.Time { clock.Advance(time.Minute); return clock.Now() }
	modelgatetest.TestDeployer(t, func(t *testing.T) modelgatetest.DeployerSubject {
		return modelgatetest.DeployerSubject{
			Deployer:   d,
			Deployment: verifiedDep,
			Serves: func(ctx context.Context, ep modelgate.Endpoint) (string, error) {
				return servedVersion(ctx, client, ep)
			},
			State:          func(ctx context.Context, model string) (any, error) { return stateOf(ctx, c, d, model) },
			StagingTimeout: 20 * time.Second,
		}
	})
}

// servedVersion is modelgatetest.ServedVersion through client.
func servedVersion(ctx context.Context, client *http.Client, ep modelgate.Endpoint) (string, error) {
	u := ep.URL + "/v1/models/" + url.PathEscape(ep.Name) + ":predict"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(`{"instances": [[1, 2]]}`))
	if err != nil {
		return "", err
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("POST %s: %s: %s", u, resp.Status, b)
	}
	return resp.Header.Get(headerVersion), nil
}

// verifiedDep is dep with a model directory and its digest.
func verifiedDep(t *testing.T, model, version string) modelgate.Deployment {
	t.Helper()
	d := dep(model, version)
	d.ModelDir = modelgatetest.MustModelDir(t, model+"-v"+version)
	digest, err := modelgate.DirDigest(d.ModelDir)
	if err != nil {
		t.Fatal(err)
	}
	d.Digest = digest
	return d
}

// platformState is what a repeated Deployer call must leave as it was.
type platformState struct {
	Production  kserve.Revisions    // zero until production exists
	Generations map[string]int64    // namespace → the InferenceService's metadata.generation
	Revisions   map[string][]string // namespace → the Knative revisions created, oldest first
}

func stateOf(ctx context.Context, c *kservetest.Cluster, d *kserve.Deployer, model string) (platformState, error) {
	st := platformState{Generations: map[string]int64{}, Revisions: map[string][]string{}}
	o, name := d.Options(), d.Options().ServiceName(model)
	var err error
	if st.Production, err = d.Revisions(ctx, model); err != nil && modelgate.ErrorCode(err) != modelgate.ENOTFOUND {
		return st, err
	}
	for _, ns := range []string{o.StagingNamespace, o.ProductionNamespace} {
		obj, err := c.Dyn.Resource(kservetest.ISVC).Namespace(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return st, err
		}
		if err == nil {
			st.Generations[ns] = obj.GetGeneration()
		}
		for _, r := range c.Revisions(ns, name) {
			st.Revisions[ns] = append(st.Revisions[ns], r.Name+" (version "+r.Version+")")
		}
	}
	return st, nil
}

// dataPlane stands in for KServe's data plane as an HTTP proxy for the URLs
// KServe publishes: it answers V1 predictions of model <name> by the
// version of a revision the InferenceService's status routes to, chosen by
// its traffic percents.
type dataPlane struct{ c *kservetest.Cluster }

func (p dataPlane) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Host != "" { // a proxy request for a URL KServe published
		obj, err := p.c.ServiceForHost(r.Context(), r.URL.Host)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		r.URL.Path = "/" + obj.GetNamespace() + "/" + obj.GetName() + r.URL.Path
	}
	parts := strings.SplitN(strings.TrimPrefix(r.URL.Path, "/"), "/", 3)
	if len(parts) != 3 || r.Method != http.MethodPost || parts[2] != "v1/models/"+parts[1]+":predict" {
		http.NotFound(w, r)
		return
	}
	version, err := p.route(r.Context(), parts[0], parts[1])
	if err != nil {
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	w.Header().Set(headerVersion, version)
	_, _ = io.WriteString(w, `{"predictions": [0]}`)
}

func (p dataPlane) route(ctx context.Context, ns, name string) (string, error) {
	obj, err := p.c.Dyn.Resource(kservetest.ISVC).Namespace(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return "", err
	}
	traffic, _, _ := unstructured.NestedSlice(obj.Object, "status", "components", "predictor", "traffic")
	pick := rand.Int64N(100)
	for _, t := range traffic {
		m, _ := t.(map[string]any)
		pct, _ := m["percent"].(int64)
		if pick < pct {
			rev, _ := m["revisionName"].(string)
			return p.versionOf(ns, name, rev)
		}
		pick -= pct
	}
	return "", fmt.Errorf("no revision of %s/%s takes traffic", ns, name)
}

func (p dataPlane) versionOf(ns, name, revision string) (string, error) {
	for _, r := range p.c.Revisions(ns, name) {
		if r.Name == revision {
			return r.Version, nil
		}
	}
	return "", fmt.Errorf("revision %s of %s/%s was never created", revision, ns, name)
}
