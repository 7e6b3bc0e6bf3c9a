package main

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"os"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// Where things are in the image, and who runs it.
const (
	BinaryPath = "/usr/local/bin/modelgate"
	WorkDir    = "/var/lib/modelgate"
	HomeDir    = "/home/nonroot"
	CAPath     = "/etc/ssl/certs/ca-certificates.crt"
	UID        = 65532
	UserName   = "nonroot"
)

// Options say what goes into the image. Binary is required.
type Options struct {
	Binary string // path of the static modelgate binary (linux, Arch)
	// CABundle is a PEM file copied to CAPath; empty leaves the image
	// without one (modelgate then trusts no public TLS server).
	CABundle string
	Arch     string    // GOARCH of Binary, e.g. amd64; required
	Version  string    // org.opencontainers.image.version; default "dev"
	Revision string    // org.opencontainers.image.revision (the git commit); may be empty
	Source   string    // org.opencontainers.image.source
	Created  time.Time // every timestamp in the image; zero means the Unix epoch
}

// Build assembles the image from opts.
func Build(opts Options) (v1.Image, error) {
	if opts.Binary == "" || opts.Arch == "" {
		return nil, fmt.Errorf("build image: the binary and its architecture are required")
	}
	if opts.Created.IsZero() {
		opts.Created = time.Unix(0, 0)
	}
	opts.Created = opts.Created.UTC()
	layerTar, err := rootfs(opts)
	if err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerTar)), nil
	})
	if err != nil {
		return nil, fmt.Errorf("make the layer: %w", err)
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		return nil, fmt.Errorf("append the layer: %w", err)
	}
	img, err = mutate.ConfigFile(img, configFile(img, opts))
	if err != nil {
		return nil, fmt.Errorf("set the image config: %w", err)
	}
	return mutate.Time(img, opts.Created)
}

// configFile is the image's configuration: how it runs and what it is.
func configFile(img v1.Image, opts Options) *v1.ConfigFile {
	cf, _ := img.ConfigFile() // empty.Image's, with the layer's diff ID
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", opts.Arch
	cf.Config = v1.Config{
		Entrypoint: []string{BinaryPath},
		Cmd:        []string{"server"},
		User:       fmt.Sprint(UID),
		WorkingDir: WorkDir,
		Env: []string{
			"PATH=/usr/local/bin:/usr/bin:/bin",
			"HOME=" + HomeDir,
		},
		ExposedPorts: map[string]struct{}{"8095/tcp": {}},
		Labels:       labels(opts),
	}
	return cf
}

func labels(opts Options) map[string]string {
	version := opts.Version
	if version == "" {
		version = "dev"
	}
	l := map[string]string{
		"org.opencontainers.image.title":       "modelgate",
		"org.opencontainers.image.description": "Promotes ML models from the registry to production through a judged canary",
		"org.opencontainers.image.version":     version,
		"org.opencontainers.image.created":     opts.Created.Format(time.RFC3339),
	}
	if opts.Revision != "" {
		l["org.opencontainers.image.revision"] = opts.Revision
	}
	if opts.Source != "" {
		l["org.opencontainers.image.source"] = opts.Source
	}
	return l
}

// entry is one file or directory of the layer.
type entry struct {
	name string // without the leading slash
	mode int64  // permission bits; a directory when data is nil and dir is set
	dir  bool
	uid  int
	data []byte
}

// rootfs is the layer as an uncompressed tar.
func rootfs(opts Options) ([]byte, error) {
	bin, err := os.ReadFile(opts.Binary)
	if err != nil {
		return nil, fmt.Errorf("read the binary: %w", err)
	}
	entries := []entry{
		{name: "etc/", dir: true, mode: 0o755},
		{name: "etc/passwd", mode: 0o644, data: []byte(fmt.Sprintf("%s:x:%d:%d:%s:%s:/sbin/nologin\n", UserName, UID, UID, UserName, HomeDir))},
		{name: "etc/group", mode: 0o644, data: []byte(fmt.Sprintf("%s:x:%d:\n", UserName, UID))},
		{name: "home/", dir: true, mode: 0o755},
		{name: HomeDir[1:] + "/", dir: true, mode: 0o700, uid: UID},
		{name: "tmp/", dir: true, mode: 0o1777},
		{name: "usr/", dir: true, mode: 0o755},
		{name: "usr/local/", dir: true, mode: 0o755},
		{name: "usr/local/bin/", dir: true, mode: 0o755},
		{name: BinaryPath[1:], mode: 0o755, data: bin},
		{name: "var/", dir: true, mode: 0o755},
		{name: "var/lib/", dir: true, mode: 0o755},
		{name: WorkDir[1:] + "/", dir: true, mode: 0o755, uid: UID},
	}
	if opts.CABundle != "" {
		ca, err := os.ReadFile(opts.CABundle)
		if err != nil {
			return nil, fmt.Errorf("read the CA bundle: %w", err)
		}
		entries = append(entries,
			entry{name: "etc/ssl/", dir: true, mode: 0o755},
			entry{name: "etc/ssl/certs/", dir: true, mode: 0o755},
			entry{name: CAPath[1:], mode: 0o644, data: ca})
	}
	return writeTar(entries, opts.Created)
}

func writeTar(entries []entry, mtime time.Time) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{
			Name: e.name, Mode: e.mode, Uid: e.uid, Gid: e.uid, ModTime: mtime,
			Typeflag: tar.TypeReg, Size: int64(len(e.data)),
		}
		if e.dir {
			h.Typeflag, h.Size = tar.TypeDir, 0
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, fmt.Errorf("write %s: %w", e.name, err)
		}
		if _, err := tw.Write(e.data); err != nil {
			return nil, fmt.Errorf("write %s: %w", e.name, err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
