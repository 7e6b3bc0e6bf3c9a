package promotion

import (
	"context"
	"fmt"
	"io/fs"
	"os"

	"github.com/modelgate/modelgate"
)

// How a version's model_sha256 tag compares with the digest of its stored
// files (VersionDigest.TagStatus).
const (
	TagMatches   = "matches"
	TagMissing   = "missing"
	TagModelsURI = "models_uri_download" // the digest of a models:/ download of the same files
	TagDiffers   = "differs"
)

// VersionDigest is a registered version's digest, computed from the files
// the registry holds as the verify step downloads them, and how its
// model_sha256 tag compares.
type VersionDigest struct {
	Model     string `json:"model"`
	Version   string `json:"version"`
	Digest    string `json:"digest"`
	Files     int    `json:"files"`
	Tag       string `json:"tag,omitempty"` // the model_sha256 tag before any change
	TagStatus string `json:"tag_status"`
	TagSet    bool   `json:"tag_set"` // SetDigestTag wrote the tag
}

// Digest computes model/version's digest from its stored files, exactly as
// the verify step does, and compares its model_sha256 tag with it. A
// missing model or version is ENOTFOUND saying which.
func (s *Service) Digest(ctx context.Context, model, version string) (*VersionDigest, error) {
	mv, err := s.Registry.GetVersion(ctx, model, version)
	if err != nil {
		return nil, s.versionNotFound(ctx, model, version, err)
	}
	tmp, dir, digest, err := s.fetch(ctx, mv)
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	d := &VersionDigest{Model: mv.Name, Version: mv.Version, Digest: digest, Tag: mv.Tags[modelgate.TagModelSHA256]}
	_ = fs.WalkDir(os.DirFS(dir), ".", func(_ string, e fs.DirEntry, err error) error {
		if err == nil && e.Type().IsRegular() {
			d.Files++ // DirDigest has read them all: there is no error to see here
		}
		return nil
	})
	switch {
	case d.Tag == "":
		d.TagStatus = TagMissing
	case d.Tag == d.Digest:
		d.TagStatus = TagMatches
	default:
		d.TagStatus = TagDiffers
		trap, err := modelgate.IsModelsURIDigest(os.DirFS(dir), mv.Name, mv.Version, d.Tag)
		if err != nil {
			return nil, fmt.Errorf("digest artifacts of %s: %w", mv.Ref(), err)
		}
		if trap {
			d.TagStatus = TagModelsURI
		}
	}
	return d, nil
}

// versionNotFound says whether the model or the version is missing (with
// the model's newest version) when err is ENOTFOUND; otherwise it returns
// err.
func (s *Service) versionNotFound(ctx context.Context, model, version string, err error) error {
	if modelgate.ErrorCode(err) != modelgate.ENOTFOUND {
		return fmt.Errorf("read %s version %s: %w", model, version, err)
	}
	vs, lerr := s.Registry.ListVersions(ctx, model)
	switch {
	case modelgate.ErrorCode(lerr) == modelgate.ENOTFOUND:
		return modelgate.Errorf(modelgate.ENOTFOUND, "the registry has no model named %q", model)
	case lerr != nil || len(vs) == 0:
		return modelgate.Errorf(modelgate.ENOTFOUND, "model %s has no version %s", model, version)
	}
	return modelgate.Errorf(modelgate.ENOTFOUND, "model %s has no version %s (its newest is version %s)", model, version, vs[len(vs)-1].Version)
}

// SetDigestTag sets d's version's model_sha256 tag to d.Digest, as a
// registry change (refused during a promotion, audited): a missing tag, or
// one computed on a models:/ download of the same files. It refuses to
// replace a tag that differs otherwise, since the files may have changed
// after it was set and a new tag would hide that, unless force. A matching
// tag is left alone.
func (s *Service) SetDigestTag(ctx context.Context, d *VersionDigest, force bool) error {
	switch {
	case d.TagStatus == TagMatches:
		return nil
	case d.TagStatus == TagDiffers && !force:
		return modelgate.Errorf(modelgate.EPRECONDITION,
			"%s version %s: its %s tag says %s, but the files the registry holds give %s, and the difference is not that of a models:/ download: the files may have changed after the tag was set",
			d.Model, d.Version, modelgate.TagModelSHA256, d.Tag, d.Digest).
			WithHint("re-register the model; or, if you know the files are right, replace the tag with --set-tag --force")
	}
	what := fmt.Sprintf("tag %s=%s (was %q, %s)", modelgate.TagModelSHA256, d.Digest, d.Tag, d.TagStatus)
	err := s.RegistryChange(ctx, d.Model, d.Version, what, func(ctx context.Context) error {
		return s.Registry.SetVersionTag(ctx, d.Model, d.Version, modelgate.TagModelSHA256, d.Digest)
	})
	if err != nil {
		return err
	}
	d.TagSet = true
	return nil
}
