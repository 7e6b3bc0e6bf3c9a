package main

import (
	"archive/tar"
	"bytes"
	"debug/elf"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// TestImage builds modelgate as scripts/image does, writes the image as a
// docker-save tarball twice and as an OCI layout, and checks what a
// container runtime would see.
func TestImage(t *testing.T) {
	bin := mustBuildModelgate(t)
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(ca, []byte("-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"-binary", bin, "-arch", runtime.GOARCH, "-ca-bundle", ca, "-version", "v1.2.3", "-revision", "abc123", "-created", "1700000000"}
	var digests []string
	for _, out := range []string{"a.tar", "b.tar"} {
		var stdout bytes.Buffer
		if err := run(append(args, "-o", filepath.Join(dir, out), "-oci-layout", filepath.Join(dir, "oci")), &stdout); err != nil {
			t.Fatal(err)
		}
		digests = append(digests, stdout.String())
	}
	if digests[0] != digests[1] || !strings.HasPrefix(digests[0], "index.docker.io/library/modelgate:v1.2.3 sha256:") {
		t.Errorf("two builds of the same binary: %q and %q, want the same modelgate:v1.2.3 digest", digests[0], digests[1])
	}
	a, b := mustRead(t, filepath.Join(dir, "a.tar")), mustRead(t, filepath.Join(dir, "b.tar"))
	if !bytes.Equal(a, b) {
		t.Error("two builds of the same binary wrote different tarballs")
	}
	t.Logf("image tarball: %d bytes (binary %d)", len(a), len(mustRead(t, bin)))

	img, err := tarball.ImageFromPath(filepath.Join(dir, "a.tar"), nil)
	if err != nil {
		t.Fatal(err)
	}
	checkConfig(t, img)
	files := extract(t, img)
	checkFiles(t, files, mustRead(t, bin))
	checkLayout(t, filepath.Join(dir, "oci"), img)
}

func checkConfig(t *testing.T, img v1.Image) {
	t.Helper()
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	c := cf.Config
	if diff := cmp.Diff([]string{"/usr/local/bin/modelgate"}, c.Entrypoint); diff != "" {
		t.Errorf("entrypoint (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"server"}, c.Cmd); diff != "" {
		t.Errorf("cmd (-want +got):\n%s", diff)
	}
	if c.User != "65532" {
		t.Errorf("user %q, want 65532 (not root)", c.User)
	}
	if c.WorkingDir != "/var/lib/modelgate" || cf.OS != "linux" || cf.Architecture != runtime.GOARCH {
		t.Errorf("working dir %q, platform %s/%s", c.WorkingDir, cf.OS, cf.Architecture)
	}
	for k, want := range map[string]string{
		"org.opencontainers.image.title":    "modelgate",
		"org.opencontainers.image.version":  "v1.2.3",
		"org.opencontainers.image.revision": "abc123",
		"org.opencontainers.image.created":  "2023-11-14T22:13:20Z",
		"org.opencontainers.image.source":   "https://github.com/modelgate/modelgate",
	} {
		if got := c.Labels[k]; got != want {
			t.Errorf("label %s = %q, want %q", k, got, want)
		}
	}
	if got := cf.Created.Unix(); got != 1700000000 {
		t.Errorf("created %v, want the -created time", cf.Created)
	}
}

// file is what mutate.Extract shows of one path.
type file struct {
	hdr  *tar.Header
	data []byte
}

func extract(t *testing.T, img v1.Image) map[string]file {
	t.Helper()
	rc := mutate.Extract(img)
	defer rc.Close()
	tr := tar.NewReader(rc)
	files := map[string]file{}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return files
		}
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		files[strings.TrimSuffix(h.Name, "/")] = file{h, data}
	}
}

func checkFiles(t *testing.T, files map[string]file, bin []byte) {
	t.Helper()
	f, ok := files["usr/local/bin/modelgate"]
	switch {
	case !ok:
		t.Fatalf("no usr/local/bin/modelgate in the image; it has %v", keys(files))
	case f.hdr.FileInfo().Mode().Perm() != 0o755 || !f.hdr.FileInfo().Mode().IsRegular():
		t.Errorf("modelgate's mode %v, want -rwxr-xr-x", f.hdr.FileInfo().Mode())
	case f.hdr.Uid != 0:
		t.Errorf("modelgate owned by %d, want root (the user it runs as cannot change it)", f.hdr.Uid)
	case !bytes.Equal(f.data, bin):
		t.Error("the image's modelgate differs from the binary built")
	default:
		runFromImage(t, f.data)
	}
	if p := string(files["etc/passwd"].data); !strings.Contains(p, "nonroot:x:65532:65532:") || strings.Contains(p, ":x:0:") {
		t.Errorf("/etc/passwd %q: want the non-root user 65532 and no root", p)
	}
	if d := files["var/lib/modelgate"]; d.hdr == nil || d.hdr.Uid != 65532 || d.hdr.Typeflag != tar.TypeDir {
		t.Error("the working directory /var/lib/modelgate is missing or not owned by 65532")
	}
	if d := files["tmp"]; d.hdr == nil || d.hdr.FileInfo().Mode()&os.ModeSticky == 0 {
		t.Error("/tmp is missing or not sticky")
	}
	if _, ok := files["etc/ssl/certs/ca-certificates.crt"]; !ok {
		t.Error("no CA bundle at /etc/ssl/certs/ca-certificates.crt")
	}
	for name, f := range files {
		if f.hdr.ModTime.Unix() != 1700000000 {
			t.Errorf("%s: time %v, want the -created time", name, f.hdr.ModTime)
		}
	}
}

func checkLayout(t *testing.T, dir string, want v1.Image) {
	t.Helper()
	p, err := layout.FromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := p.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	wantDigest, _ := want.Digest()
	img, err := idx.Image(wantDigest)
	if err != nil {
		t.Fatalf("the OCI layout lacks the tarball's image %s: %v", wantDigest, err)
	}
	if d, _ := img.Digest(); d != wantDigest {
		t.Errorf("OCI layout image %s, tarball's %s", d, wantDigest)
	}
}

// runFromImage runs the image's binary (`modelgate version`) here, as the
// image's entrypoint would: no shell, no libraries.
func runFromImage(t *testing.T, bin []byte) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "modelgate")
	if err := os.WriteFile(path, bin, 0o755); err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "linux" {
		return
	}
	out, err := exec.Command(path, "version").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "modelgate") {
		t.Errorf("the image's modelgate version: %v\n%s", err, out)
	}
}

// mustBuildModelgate builds the static binary as scripts/image does.
func mustBuildModelgate(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds modelgate")
	}
	bin := filepath.Join(t.TempDir(), "modelgate")
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", bin, "./cmd/modelgate")
	cmd.Dir = filepath.Join("..", "..")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Fatal("modelgate is dynamically linked: it would not run on an empty base")
		}
	}
	return bin
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func keys(m map[string]file) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
