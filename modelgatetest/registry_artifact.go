package modelgatetest

import (
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/modelgate/modelgate"
)

func testDownloadArtifacts(t *testing.T, s Subject) {
	name := uniqueName("download")
	dirs := []string{MustModelDir(t, "download-1"), MustModelDir(t, "download-2")}
	for _, dir := range dirs {
		mustCreate(t, s, modelgate.NewVersion{Name: name, Dir: dir})
	}
	targets := []string{
		filepath.Join(t.TempDir(), "missing", "model"), // created by the download
		t.TempDir(), // exists and is empty
	}
	for i, version := range []string{"1", "2"} {
		got, err := s.Registry.DownloadArtifacts(t.Context(), name, version, targets[i])
		if err != nil {
			t.Fatalf("DownloadArtifacts(%s/%s): %v", name, version, err)
		}
		if diff := cmp.Diff(readTree(t, dirs[i]), readTree(t, got)); diff != "" {
			t.Errorf("downloaded version %s differs from the registered directory (-registered +downloaded):\n%s", version, diff)
		}
		tag := mustGetVersion(t, s, name, version).Tags[modelgate.TagModelSHA256]
		if d := mustDigest(t, got); d != tag {
			t.Errorf("DirDigest of download %s = %s, want the model_sha256 tag %s", version, d, tag)
		}
	}
}

func testDownloadNonEmpty(t *testing.T, s Subject) {
	name := mustCreateN(t, s, "download-busy", 1)
	target := t.TempDir()
	mustWriteFile(t, filepath.Join(target, "keep.txt"), "someone else's file")
	_, err := s.Registry.DownloadArtifacts(t.Context(), name, "1", target)
	wantCode(t, "DownloadArtifacts into a non-empty directory", err, modelgate.EINVALID)
	want := map[string]string{"keep.txt": "someone else's file"}
	if diff := cmp.Diff(want, readTree(t, target)); diff != "" {
		t.Errorf("failed download changed the target directory (-want +got):\n%s", diff)
	}
}

// readTree returns relative path -> content of every file under dir.
func readTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		files[filepath.ToSlash(rel)] = string(b)
		return err
	})
	if err != nil {
		t.Fatalf("read %s: %v", dir, err)
	}
	return files
}
