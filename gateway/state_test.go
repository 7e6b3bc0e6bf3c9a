package gateway_test

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/gateway"
)

func TestServer_Persistence(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gateway.json")
	withState := func(o *gateway.Options) { o.StatePath = path }
	e := newTestEnv(t, withState)
	for _, v := range []string{"1", "2", "3"} {
		e.register(v, 1)
	}
	e.mustSetStable("1")
	e.mustStartCanary("2", 20)
	if _, err := e.dep.DeployStaging(t.Context(), deployment("3"), 0); err != nil {
		t.Fatal(err)
	}

	// A new server on the same file serves the same thing after Open; it
	// loads through the first environment's loader.
	before := []int{e.loadCount("1"), e.loadCount("2"), e.loadCount("3")}
	e2 := newTestEnv(t, func(o *gateway.Options) { withState(o); o.Loader = e.load })
	st, err := e2.dep.Status(t.Context(), "iris")
	if err != nil {
		t.Fatal(err)
	}
	want := gateway.Status{Model: "iris", Staging: "3", Since: e.clock.Now(),
		Traffic:  modelgate.TrafficSplit{Stable: "1", Canary: "2", CanaryPercent: 20},
		Restored: &gateway.Restored{At: e2.clock.Now(), SavedAt: e.clock.Now()}}
	if diff := cmp.Diff(want, st); diff != "" {
		t.Errorf("restored status (-want +got):\n%s", diff)
	}
	if got := e2.call(http.MethodPost, "/staging/v1/models/iris:predict", `{"instances": [[1, 1]]}`, nil); got.Status != 200 || got.Version != "3" {
		t.Errorf("restored staging answered %+v", got)
	}
	after := []int{e.loadCount("1"), e.loadCount("2"), e.loadCount("3")}
	for i := range after {
		if after[i] != before[i]+1 {
			t.Errorf("version %d loaded %d times by Open, want once", i+1, after[i]-before[i])
		}
	}

	entries, err := os.ReadDir(filepath.Dir(path))
	if err != nil || len(entries) != 1 {
		t.Errorf("state directory holds %v (%v), want only gateway.json", entries, err)
	}
}

func TestServer_Open_Errors(t *testing.T) {
	dir := t.TempDir()
	load := func(string) (gateway.Model, error) { return &fakeModel{}, nil }

	if err := gateway.NewServer(gateway.Options{}).Open(); modelgate.ErrorCode(err) != modelgate.EINVALID {
		t.Errorf("Open without Loader: %v, want EINVALID", err)
	}

	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte("{"), 0o600)
	err := gateway.NewServer(gateway.Options{Loader: load, StatePath: bad}).Open()
	wantCode(t, err, modelgate.EINVALID, "is not valid JSON")

	missing := filepath.Join(dir, "missing.json")
	os.WriteFile(missing, []byte(`{"models": {"iris": {"stable": {"model": "iris", "version": "1", "model_dir": "/gone", "digest": "sha-1"}}}}`), 0o600)
	err = gateway.NewServer(gateway.Options{
		Loader:    func(string) (gateway.Model, error) { return nil, os.ErrNotExist },
		StatePath: missing,
	}).Open()
	wantCode(t, err, modelgate.ENOTFOUND, "load model iris version 1 from /gone")

	canary := filepath.Join(dir, "canary.json")
	os.WriteFile(canary, []byte(`{"models": {"iris": {"stable": {"model": "iris", "version": "1", "model_dir": "/models/1", "digest": "sha-1"},
		"canary": {"model": "iris", "version": "2", "model_dir": "/models/2", "digest": "sha-2"}, "canary_percent": 0}}}`), 0o600)
	err = gateway.NewServer(gateway.Options{Loader: load, StatePath: canary, DirDigest: fakeDigest}).Open()
	wantCode(t, err, modelgate.EINVALID, "percent between 1 and 99")

	// A missing file is an empty gateway.
	srv := mustOpenServer(t, gateway.Options{Loader: load, StatePath: filepath.Join(dir, "new.json")})
	if srv == nil {
		t.Fatal("no server")
	}
}

// TestServer_Concurrent serves requests while the split changes; run it
// with -race.
func TestServer_Concurrent(t *testing.T) {
	e := newTestEnv(t, nil)
	for _, v := range []string{"1", "2", "3"} {
		e.register(v, 1)
	}
	e.mustSetStable("1")
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 20 {
			e.dep.StartCanary(t.Context(), deployment([]string{"2", "3"}[i%2]), 10+i)
			e.metrics.Observe(t.Context(), "iris")
		}
	}()
	client := e.ts.Client()
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 25 {
				resp, err := client.Post(e.ts.URL+"/v1/models/iris:predict", "application/json",
					strings.NewReader(`{"instances": [[1, 2]]}`))
				if err != nil {
					t.Error(err)
					return
				}
				resp.Body.Close()
				if resp.StatusCode != 200 {
					t.Errorf("status %d", resp.StatusCode)
				}
			}
		})
	}
	wg.Wait()
	<-done
}
