package promotion_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/modelgatetest"
)

// A digest mismatch is refused either way; the reason tells a tag computed
// on a models:/ download of the unchanged files (MLflow's client adds
// registered_model_meta) apart from files that changed, and says how to get
// the right digest only in the first case.
func TestVerify_DigestMismatchReasons(t *testing.T) {
	for _, tc := range []struct {
		name, want, notWant string
		tag                 func(t *testing.T) string
	}{
		{"ModelsURIDownload", "`modelgate registry digest demand-forecast 2 --set-tag`", "corrupted", func(t *testing.T) string {
			dir := modelgatetest.MustModelDir(t, "v2") // the files v2 was registered with
			meta := "model_name: demand-forecast\nmodel_version: '2'\n"
			if err := os.WriteFile(filepath.Join(dir, modelgate.ModelsURIMetaFile), []byte(meta), 0o644); err != nil {
				t.Fatal(err)
			}
			return mustDirDigest(t, dir)
		}},
		{"ChangedFiles", "changed or corrupted after registration", "registry digest", func(t *testing.T) string {
			return mustDirDigest(t, modelgatetest.MustModelDir(t, "v2-before-a-change"))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			if err := w.reg.SetVersionTag(context.Background(), model, "2", modelgate.TagModelSHA256, tc.tag(t)); err != nil {
				t.Fatal(err)
			}
			p := run(t, w.service("a"), "2")
			reasons := strings.Join(p.Reasons, "\n")
			if p.Outcome != modelgate.OutcomeFailed || !strings.Contains(reasons, "does not match its model_sha256 tag") ||
				!strings.Contains(reasons, tc.want) || strings.Contains(reasons, tc.notWant) {
				t.Fatalf("outcome %s, reasons:\n%s\nwant them to contain %q and not %q", p.Outcome, reasons, tc.want, tc.notWant)
			}
			if w.dep.calls["DeployStaging"] != 0 {
				t.Fatalf("a refused artifact was deployed: %v", w.dep.calls)
			}
		})
	}
}

func mustDirDigest(t *testing.T, dir string) string {
	t.Helper()
	d, err := modelgate.DirDigest(dir)
	if err != nil {
		t.Fatal(err)
	}
	return d
}
