package gateway_test

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/gateway"
)

// modelDir writes a model directory holding content and returns it with
// its digest.
func modelDir(t *testing.T, content string) (string, string) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "model.txt"), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	digest, err := modelgate.DirDigest(dir)
	if err != nil {
		t.Fatal(err)
	}
	return dir, digest
}

// Every admin change recomputes the directory's digest before serving it:
// a directory whose digest is not the one named is refused, and the refusal
// is logged.
func TestDigest_EveryChangeVerifies(t *testing.T) {
	var logs bytes.Buffer
	e := newTestEnv(t, func(o *gateway.Options) {
		o.DirDigest = nil // the real digest
		o.Loader = func(string) (gateway.Model, error) { return &fakeModel{Weight: 1}, nil }
		o.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	})
	ctx := t.Context()
	dir1, sum1 := modelDir(t, "v1")
	dir2, sum2 := modelDir(t, "v2")
	v1 := modelgate.Deployment{Model: "iris", Version: "1", ModelDir: dir1, Digest: sum1}
	if err := e.dep.SetStable(ctx, v1); err != nil {
		t.Fatalf("SetStable with the right digest: %v", err)
	}

	forged := modelgate.Deployment{Model: "iris", Version: "2", ModelDir: dir2, Digest: "0000"}
	wantCode(t, e.dep.SetStable(ctx, forged), modelgate.EINVALID, "has digest "+sum2+", not 0000 as the request says; refusing to serve it")
	wantCode(t, e.dep.StartCanary(ctx, forged, 10), modelgate.EINVALID, "not 0000 as the request says")
	wantCode(t, e.dep.Rollback(ctx, forged), modelgate.EINVALID, "not 0000 as the request says")
	if _, err := e.dep.DeployStaging(ctx, forged, 0); modelgate.ErrorCode(err) != modelgate.EINVALID {
		t.Errorf("DeployStaging of a forged digest: %v", err)
	}
	noDigest := forged
	noDigest.Digest = ""
	wantCode(t, e.dep.SetStable(ctx, noDigest), modelgate.EINVALID, "names no digest")
	e.wantTraffic(modelgate.TrafficSplit{Stable: "1"})

	// The right digest of changed bytes is a new artifact; the old digest
	// no longer matches them.
	if err := os.WriteFile(filepath.Join(dir2, "model.txt"), []byte("tampered"), 0o644); err != nil {
		t.Fatal(err)
	}
	wantCode(t, e.dep.StartCanary(ctx, modelgate.Deployment{Model: "iris", Version: "2", ModelDir: dir2, Digest: sum2}, 10),
		modelgate.EINVALID, "not "+sum2)
	if !strings.Contains(logs.String(), "admin change refused") || !strings.Contains(logs.String(), "refusing to serve it") {
		t.Errorf("refusals are not logged:\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), "gateway verified artifact") {
		t.Errorf("verified artifacts are not logged:\n%s", logs.String())
	}
}

// A restarted gateway verifies what its state file names before serving it.
func TestDigest_VerifiedOnRestore(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gateway.json")
	load := func(string) (gateway.Model, error) { return &fakeModel{Weight: 1}, nil }
	e := newTestEnv(t, func(o *gateway.Options) { o.DirDigest, o.Loader, o.StatePath = nil, load, path })
	dir, sum := modelDir(t, "v1")
	if err := e.dep.SetStable(t.Context(), modelgate.Deployment{Model: "iris", Version: "1", ModelDir: dir, Digest: sum}); err != nil {
		t.Fatal(err)
	}
	e.srv.Close()
	if err := os.WriteFile(filepath.Join(dir, "model.txt"), []byte("tampered"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := gateway.NewServer(gateway.Options{Loader: load, StatePath: path}).Open()
	wantCode(t, err, modelgate.EINVALID, "refusing to serve it")
}
