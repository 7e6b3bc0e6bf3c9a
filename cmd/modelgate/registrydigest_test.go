package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/promotion"
)

// registry digest on the embedded registry: the digest of the stored files
// and how the tag compares; --set-tag sets a missing tag and replaces one
// computed on a models:/ download, refuses to hide another difference
// unless --force, and a missing model or version is named.
func TestRegistryDigest(t *testing.T) {
	dir := t.TempDir()
	if err := extractExample(filepath.Join(dir, "example")); err != nil {
		t.Fatal(err)
	}
	config := filepath.Join(dir, "modelgate.yaml")
	if err := os.WriteFile(config, []byte("registry: {type: local, path: registry}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cli := func(want int, args ...string) (string, string) {
		t.Helper()
		code, stdout, stderr := runCLI(t, append([]string{"--config", config}, args...)...)
		if code != want {
			t.Fatalf("modelgate %s: exit %d, want %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, want, stdout, stderr)
		}
		return stdout, stderr
	}
	digest := func(args ...string) promotion.VersionDigest {
		t.Helper()
		out, _ := cli(0, append([]string{"registry", "digest", "demand-forecast", "1", "-o", "json"}, args...)...)
		var res promotion.VersionDigest
		if err := json.Unmarshal([]byte(out), &res); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		return res
	}
	v1 := filepath.Join(dir, "example", "models", "v1")
	want := mustDigest(t, v1)
	cli(0, "registry", "register", "demand-forecast", v1, "--tag", "model_sha256=") // registered without the tag

	if got := digest(); got.Digest != want || got.TagStatus != promotion.TagMissing || got.Files != 7 {
		t.Fatalf("untagged: %+v, want digest %s", got, want)
	}
	if got := digest("--set-tag"); got.TagStatus != promotion.TagMissing || !got.TagSet {
		t.Fatalf("--set-tag on a missing tag: %+v", got)
	}
	if got := digest("--set-tag"); got.TagStatus != promotion.TagMatches || got.TagSet || got.Tag != want {
		t.Fatalf("--set-tag on a matching tag: %+v", got)
	}

	// The digest of `mlflow.artifacts.download_artifacts("models:/demand-forecast/1")`.
	meta := "model_name: demand-forecast\nmodel_version: '1'\n"
	if err := os.WriteFile(filepath.Join(v1, modelgate.ModelsURIMetaFile), []byte(meta), 0o644); err != nil {
		t.Fatal(err)
	}
	trap := mustDigest(t, v1)
	cli(0, "registry", "tag", "demand-forecast", "1", "model_sha256="+trap)
	if out, _ := cli(0, "registry", "digest", "demand-forecast", "1"); !strings.Contains(out, "is the digest of a models:/ download") {
		t.Fatalf("text output on the download's digest: %s", out)
	}
	if got := digest("--set-tag"); got.TagStatus != promotion.TagModelsURI || !got.TagSet || got.Tag != trap || got.Digest != want {
		t.Fatalf("--set-tag on the download's digest: %+v", got)
	}

	other := strings.Repeat("0", 64)
	cli(0, "registry", "tag", "demand-forecast", "1", "model_sha256="+other)
	if _, stderr := cli(1, "registry", "digest", "demand-forecast", "1", "--set-tag"); !strings.Contains(stderr, "the files may have changed after the tag was set") {
		t.Fatalf("--set-tag on another difference: %s", stderr)
	}
	if got := digest(); got.TagStatus != promotion.TagDiffers || got.Tag != other {
		t.Fatalf("a refused --set-tag changed the tag: %+v", got)
	}
	if got := digest("--set-tag", "--force"); !got.TagSet || got.Tag != other {
		t.Fatalf("--set-tag --force: %+v", got)
	}
	if got := digest(); got.TagStatus != promotion.TagMatches {
		t.Fatalf("after --force: %+v", got)
	}
	trail, err := os.ReadFile(filepath.Join(dir, ".modelgate", "audit.jsonl"))
	if n := strings.Count(string(trail), "tag model_sha256="+want); err != nil || n != 6 { // requested and done, three times
		t.Fatalf("audit trail: %d entries of the tag change, %v", n, err)
	}

	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"demand-forecast", "9"}, 1, "model demand-forecast has no version 9 (its newest is version 1)"},
		{[]string{"forecast", "1"}, 1, `the registry has no model named "forecast"`},
		{[]string{"demand-forecast", "1", "--force"}, 2, "--force only goes with --set-tag"},
		{[]string{"demand-forecast"}, 2, "expects MODEL VERSION"},
	} {
		if _, stderr := cli(tc.code, append([]string{"registry", "digest"}, tc.args...)...); !strings.Contains(stderr, tc.msg) {
			t.Errorf("registry digest %s: %s, want %q", strings.Join(tc.args, " "), stderr, tc.msg)
		}
	}
}

func mustDigest(t *testing.T, dir string) string {
	t.Helper()
	d, err := modelgate.DirDigest(dir)
	if err != nil {
		t.Fatal(err)
	}
	return d
}
