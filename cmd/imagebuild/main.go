package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/match"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "imagebuild:", err)
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		os.Exit(2)
	}
}

// run parses args, builds the image and writes it where asked.
func run(args []string, stdout io.Writer) error {
	var opts Options
	var tag, out, ociDir, created string
	fs := flag.NewFlagSet("imagebuild", flag.ContinueOnError)
	fs.StringVar(&opts.Binary, "binary", "", "the static linux modelgate binary (required)")
	fs.StringVar(&opts.Arch, "arch", "amd64", "the binary's GOARCH")
	fs.StringVar(&opts.CABundle, "ca-bundle", "", "PEM CA bundle to install at "+CAPath)
	fs.StringVar(&opts.Version, "version", "dev", "the version label, and the tag's default")
	fs.StringVar(&opts.Revision, "revision", "", "the git commit label")
	fs.StringVar(&opts.Source, "source", "https://github.com/modelgate/modelgate", "the source repository label")
	fs.StringVar(&created, "created", os.Getenv("SOURCE_DATE_EPOCH"), "every timestamp, as Unix seconds or RFC 3339 (default $SOURCE_DATE_EPOCH, else 1970-01-01)")
	fs.StringVar(&tag, "tag", "", "the image reference in the tarball (default modelgate:VERSION)")
	fs.StringVar(&out, "o", "", "write a docker-save tarball here")
	fs.StringVar(&ociDir, "oci-layout", "", "write (or add to) an OCI image layout in this directory")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if out == "" && ociDir == "" {
		return errors.New("nothing to write: give -o FILE and/or -oci-layout DIR")
	}
	t, err := parseCreated(created)
	if err != nil {
		return err
	}
	opts.Created = t
	if tag == "" {
		tag = "modelgate:" + opts.Version
	}
	img, err := Build(opts)
	if err != nil {
		return err
	}
	return write(img, tag, out, ociDir, stdout)
}

func parseCreated(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if secs, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.Unix(secs, 0), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("-created %q: want Unix seconds or RFC 3339", s)
	}
	return t, nil
}

func write(img v1.Image, tag, out, ociDir string, stdout io.Writer) error {
	ref, err := name.NewTag(tag)
	if err != nil {
		return fmt.Errorf("-tag: %w", err)
	}
	if out != "" {
		if err := tarball.WriteToFile(out, ref, img); err != nil {
			return fmt.Errorf("write %s: %w", out, err)
		}
	}
	if ociDir != "" {
		if err := writeLayout(ociDir, img, ref); err != nil {
			return err
		}
	}
	digest, err := img.Digest()
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s %s\n", ref.Name(), digest)
	return nil
}

// writeLayout puts img into the OCI layout in dir (made when missing), with
// its tag as the org.opencontainers.image.ref.name annotation, replacing an
// image of the same tag.
func writeLayout(dir string, img v1.Image, ref name.Tag) error {
	p, err := layout.FromPath(dir)
	if err != nil {
		if p, err = layout.Write(dir, empty.Index); err != nil {
			return fmt.Errorf("make the OCI layout %s: %w", dir, err)
		}
	}
	const refName = "org.opencontainers.image.ref.name"
	ann := layout.WithAnnotations(map[string]string{refName: ref.TagStr()})
	if err := p.ReplaceImage(img, match.Annotation(refName, ref.TagStr()), ann); err != nil {
		return fmt.Errorf("write the OCI layout %s: %w", dir, err)
	}
	return nil
}
