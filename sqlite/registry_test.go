package sqlite_test

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/modelgatetest"
	"github.com/modelgate/modelgate/sqlite"
)

// MustOpenDB opens a database in a fresh temporary directory and closes it
// when the test ends.
func MustOpenDB(tb testing.TB) *sqlite.DB {
	tb.Helper()
	return mustOpenDBAt(tb, filepath.Join(tb.TempDir(), "state", "modelgate.db"))
}

func mustOpenDBAt(tb testing.TB, path string) *sqlite.DB {
	tb.Helper()
	db := sqlite.NewDB(path)
	if err := db.Open(); err != nil {
		tb.Fatalf("open %s: %v", path, err)
	}
	tb.Cleanup(func() {
		if err := db.Close(); err != nil {
			tb.Errorf("close %s: %v", path, err)
		}
	})
	return db
}

func mustOpenRegistry(tb testing.TB) (*sqlite.Registry, string) {
	tb.Helper()
	artifacts := filepath.Join(tb.TempDir(), "artifacts")
	return sqlite.NewRegistry(MustOpenDB(tb), artifacts), artifacts
}

func TestRegistry(t *testing.T) {
	modelgatetest.TestRegistry(t, func(t *testing.T) modelgatetest.Subject {
		r, _ := mustOpenRegistry(t)
		return modelgatetest.Subject{Registry: r, Registrar: r}
	})
}

// A caller-supplied model_sha256 is stored as given, so the engine's digest
// check can be tested against a mismatching tag.
func TestRegistry_CallerDigestKept(t *testing.T) {
	r, _ := mustOpenRegistry(t)
	mv, err := r.CreateVersion(t.Context(), modelgate.NewVersion{Name: "fraud", Dir: modelgatetest.MustModelDir(t, "x"),
		Tags: map[string]string{modelgate.TagModelSHA256: "not-the-digest"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := mv.Tags[modelgate.TagModelSHA256]; got != "not-the-digest" {
		t.Errorf("model_sha256 = %q, want the caller's value", got)
	}
}

// Identical directories share one stored artifact, named by their digest,
// and no temporary directory is left behind.
func TestRegistry_ArtifactsContentAddressed(t *testing.T) {
	r, artifacts := mustOpenRegistry(t)
	dir := modelgatetest.MustModelDir(t, "same")
	digest, err := modelgate.DirDigest(dir)
	if err != nil {
		t.Fatal(err)
	}
	var sources []string
	for _, name := range []string{"fraud", "churn"} {
		mv, err := r.CreateVersion(t.Context(), modelgate.NewVersion{Name: name, Dir: dir})
		if err != nil {
			t.Fatal(err)
		}
		sources = append(sources, mv.Source)
	}
	if want := "modelgate-artifacts:/sha256/" + digest; sources[0] != want || sources[1] != want {
		t.Errorf("sources = %q, want both %q", sources, want)
	}
	entries, err := os.ReadDir(filepath.Join(artifacts, "sha256"))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != digest {
		t.Errorf("artifact store holds %v, want only %s", entries, digest)
	}
}

func TestRegistry_ErrorMessages(t *testing.T) {
	r, _ := mustOpenRegistry(t)
	if _, err := r.CreateVersion(t.Context(), modelgate.NewVersion{Name: "fraud", Dir: modelgatetest.MustModelDir(t, "m")}); err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	for _, c := range []struct {
		err  error
		want string
	}{
		{errOf(r.GetModel(ctx, "nope")), "Registered Model with name=nope not found"},
		{errOf(r.GetVersion(ctx, "fraud", "9")), "Model Version (name=fraud, version=9) not found"},
		{errOf(r.GetVersion(ctx, "fraud", "x")), "Parameter 'version' must be an integer, got 'x'."},
		{errOf(r.GetVersionByAlias(ctx, "fraud", "champion")), "Registered model alias champion not found."},
		{errOf(r.TransitionStage(ctx, "fraud", "1", "Prod", false)), "Invalid Model Version stage: Prod. Value must be one of None, Staging, Production, Archived."},
		{r.SetAlias(ctx, "fraud", "latest", "1"), "'latest' alias name (case insensitive) is reserved."},
	} {
		if got := modelgate.ErrorMessage(c.err); got != c.want {
			t.Errorf("message %q, want %q", got, c.want)
		}
	}
	_, err := r.CreateVersion(ctx, modelgate.NewVersion{Name: "fraud", Dir: t.TempDir()})
	if msg := modelgate.ErrorMessage(err); !strings.Contains(msg, "MLmodel") {
		t.Errorf("CreateVersion without MLmodel: message %q should mention MLmodel", msg)
	}
}

// Two processes registering versions of one model get distinct numbers.
func TestRegistry_ConcurrentCreate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "modelgate.db")
	artifacts := filepath.Join(t.TempDir(), "artifacts")
	registries := []*sqlite.Registry{
		sqlite.NewRegistry(mustOpenDBAt(t, path), artifacts),
		sqlite.NewRegistry(mustOpenDBAt(t, path), artifacts),
	}
	var wg sync.WaitGroup
	for i := range 10 {
		dir := modelgatetest.MustModelDir(t, "same") // all equal: they also race on the artifact rename
		wg.Go(func() {
			if _, err := registries[i%2].CreateVersion(t.Context(), modelgate.NewVersion{Name: "fraud", Dir: dir}); err != nil {
				t.Errorf("CreateVersion: %v", err)
			}
		})
	}
	wg.Wait()
	versions, err := registries[0].ListVersions(t.Context(), "fraud")
	if err != nil {
		t.Fatal(err)
	}
	if len(versions) != 10 || versions[9].Version != "10" {
		t.Errorf("got %d versions, last %v; want 1..10", len(versions), versions[len(versions)-1].Version)
	}
}

func TestDB_ReopenKeepsData(t *testing.T) {
	path := filepath.Join(t.TempDir(), "modelgate.db")
	artifacts := filepath.Join(t.TempDir(), "artifacts")
	db := sqlite.NewDB(path)
	if err := db.Open(); err != nil {
		t.Fatal(err)
	}
	r := sqlite.NewRegistry(db, artifacts)
	if _, err := r.CreateVersion(t.Context(), modelgate.NewVersion{Name: "fraud", Dir: modelgatetest.MustModelDir(t, "m")}); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	// Reopening runs no migration twice and finds the version.
	r = sqlite.NewRegistry(mustOpenDBAt(t, path), artifacts)
	if _, err := r.GetVersion(t.Context(), "fraud", "1"); err != nil {
		t.Errorf("GetVersion after reopen: %v", err)
	}
}

func errOf[T any](_ T, err error) error { return err }
