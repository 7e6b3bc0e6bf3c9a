package mlflow_test

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelgate/modelgate"
)

// modelsURIDigest is what a user computes on MLflow's own download of
// models:/NAME/VERSION, with the README's rule; it prints the files too.
const modelsURIDigest = `
import hashlib, json, pathlib, sys, tempfile
import mlflow
name, version = sys.argv[1], sys.argv[2]
with tempfile.TemporaryDirectory() as tmp:
    root = pathlib.Path(mlflow.artifacts.download_artifacts(f"models:/{name}/{version}", dst_path=tmp))
    files = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
    text = "".join(f"{hashlib.sha256((root / f).read_bytes()).hexdigest()}  {f}\n" for f in files)
    print(json.dumps({"files": files, "digest": hashlib.sha256(text.encode()).hexdigest()}))
`

// A model_sha256 computed on a models:/ download (MLflow's client adds
// registered_model_meta) is refused with a message saying so and naming
// `modelgate registry digest`, which computes the right digest from what
// MLflow holds and sets it, after which the same version deploys; a tag of
// other files is refused as a change.
func TestRegistryDigest_ModelsURIDownload(t *testing.T) {
	s := mustServer(t)
	name, reg := registerExample(t, s, "alias", "")
	out := strings.TrimSpace(python(t, s, nil, "-c", modelsURIDigest, name, "2"))
	var dl struct {
		Files  []string `json:"files"`
		Digest string   `json:"digest"`
	}
	if err := json.Unmarshal([]byte(out[strings.LastIndex(out, "\n")+1:]), &dl); err != nil {
		t.Fatalf("download: %v\n%s", err, out)
	}
	right := reg.Versions["2"].Digest
	if !strings.Contains(strings.Join(dl.Files, " "), modelgate.ModelsURIMetaFile) || dl.Digest == right {
		t.Fatalf("MLflow's models:/ download no longer differs from the registered files: %+v (registered digest %s)", dl, right)
	}
	r := mustRegistry(t, s, nil)
	mustDo(t, r.SetVersionTag(t.Context(), name, "2", modelgate.TagModelSHA256, dl.Digest))
	mustDo(t, r.SetVersionTag(t.Context(), name, "3", modelgate.TagModelSHA256, dl.Digest)) // not v3's files

	bin := buildModelgate(t)
	_, platform := localGateway(t)
	config := filepath.Join(t.TempDir(), "modelgate.yaml")
	mustWrite(t, config, fmt.Appendf(nil, "registry: {type: mlflow, uri: %q, promotion: alias}\nplatform: {type: local, %s}\n", s.URI, platform))
	cli := func(exit int, args ...string) string {
		t.Helper()
		out, err := exec.Command(bin, append([]string{"--config", config}, args...)...).CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
		if code != exit {
			t.Fatalf("modelgate %s: exit %d, want %d\n%s", strings.Join(args, " "), code, exit, out)
		}
		return string(out)
	}

	var res struct {
		Digest string `json:"digest"`
		Status string `json:"tag_status"`
	}
	out = cli(0, "registry", "digest", name, "2", "-o", "json")
	if err := json.Unmarshal([]byte(out[strings.Index(out, "{"):]), &res); err != nil {
		t.Fatalf("registry digest: %v\n%s", err, out)
	}
	if res.Digest != right || res.Status != "models_uri_download" {
		t.Fatalf("registry digest: %+v, want digest %s and tag_status models_uri_download\n%s", res, right, out)
	}
	if out := cli(1, "deploy", name, "--version", "2"); !strings.Contains(out, "no file changed") ||
		!strings.Contains(out, fmt.Sprintf("`modelgate registry digest %s 2 --set-tag`", name)) {
		t.Fatalf("deploy with the download's digest:\n%s", out)
	}
	if out := cli(1, "deploy", name, "--version", "3"); !strings.Contains(out, "changed or corrupted after registration") || strings.Contains(out, "registry digest") {
		t.Fatalf("deploy with other files' digest:\n%s", out)
	}
	if out := cli(0, "registry", "digest", name, "2", "--set-tag"); !strings.Contains(out, "model_sha256 "+right) || !strings.Contains(out, "tag model_sha256 set") {
		t.Fatalf("registry digest --set-tag:\n%s", out)
	}
	cli(0, "deploy", name, "--version", "2")
	if mv, err := r.GetVersion(t.Context(), name, "2"); err != nil || mv.Tags[modelgate.TagModelSHA256] != right {
		t.Fatalf("model_sha256 of version 2 after --set-tag: %v %v", mv, err)
	}
}
