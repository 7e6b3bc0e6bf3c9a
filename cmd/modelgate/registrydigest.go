package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/modelgate/modelgate"
)

// How a version's model_sha256 tag compares with the digest of its stored
// files.
const (
	tagMatches   = "matches"
	tagMissing   = "missing"
	tagModelsURI = "models_uri_download" // the digest of a models:/ download of the same files
	tagDiffers   = "differs"
)

// digestResult is what `registry digest` reports.
type digestResult struct {
	Model   string `json:"model"`
	Version string `json:"version"`
	Digest  string `json:"digest"` // of the files the registry holds
	Files   int    `json:"files"`
	Tag     string `json:"tag,omitempty"` // the model_sha256 tag before any change
	Status  string `json:"tag_status"`
	TagSet  bool   `json:"tag_set"` // --set-tag wrote the tag
}

func registryDigest(g *globals) *cobra.Command {
	var setTag, force bool
	cmd := &cobra.Command{
		Use: "digest MODEL VERSION", Short: "Compute a registered version's model_sha256 from its stored files (and set the tag)",
		Long: `Download the version's files from the registry, as the verify step does, and
print their digest (the model_sha256 rule in the README) and how the version's
model_sha256 tag compares with it. With --set-tag the tag is set to it, through the
registry (the embedded one or MLflow alike), and the change is audited.

Use it on a version registered by MLflow's client instead of hashing a download
of models:/NAME/V: MLflow's client adds a registered_model_meta file to such a
download, so its digest is not the registered files' digest.

--set-tag sets a missing tag, and replaces one computed on a models:/ download of
the same files. It refuses to replace any other tag that differs: the files may
have changed after the tag was set, and a new tag would hide it. --force replaces
it anyway.`,
		Example: `  modelgate registry digest demand-forecast 7
  modelgate registry digest demand-forecast 7 --set-tag
  modelgate registry digest demand-forecast 7 -o json`,
		Args: nArgs(2, "MODEL VERSION"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if force && !setTag {
				return &usageErr{fmt.Errorf("--force only goes with --set-tag")}
			}
			return g.withReadApp(cmd, func(a *app) error {
				res, err := versionDigest(cmd.Context(), a.registry, args[0], args[1])
				if err != nil {
					return err
				}
				if setTag {
					if err := setDigestTag(cmd.Context(), a, res, force); err != nil {
						return err
					}
				}
				if g.json() {
					return g.printJSON(res)
				}
				printDigest(g, res)
				return nil
			})
		},
	}
	cmd.Flags().BoolVar(&setTag, "set-tag", false, "set the model_sha256 tag to the computed digest")
	cmd.Flags().BoolVar(&force, "force", false, "with --set-tag: replace a tag that differs for another reason than a models:/ download")
	return cmd
}

// versionDigest downloads the version's files into a temporary directory
// and digests them, as the verify step does, and compares its tag.
func versionDigest(ctx context.Context, reg modelgate.Registry, model, version string) (*digestResult, error) {
	mv, err := reg.GetVersion(ctx, model, version)
	if err != nil {
		return nil, versionNotFound(ctx, reg, model, version, err)
	}
	tmp, err := os.MkdirTemp("", "modelgate-digest-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	dir, err := reg.DownloadArtifacts(ctx, mv.Name, mv.Version, filepath.Join(tmp, "model"))
	if err != nil {
		return nil, fmt.Errorf("download artifacts of %s: %w", mv.Ref(), err)
	}
	manifest, err := modelgate.DigestManifest(os.DirFS(dir))
	if err != nil {
		return nil, fmt.Errorf("digest artifacts of %s: %w", mv.Ref(), err)
	}
	sum := sha256.Sum256([]byte(manifest)) // DirDigest is the SHA-256 of this manifest
	res := &digestResult{Model: mv.Name, Version: mv.Version, Digest: hex.EncodeToString(sum[:]),
		Files: strings.Count(manifest, "\n"), Tag: mv.Tags[modelgate.TagModelSHA256]}
	switch {
	case res.Tag == "":
		res.Status = tagMissing
	case res.Tag == res.Digest:
		res.Status = tagMatches
	default:
		res.Status = tagDiffers
		trap, err := modelgate.IsModelsURIDigest(os.DirFS(dir), mv.Name, mv.Version, res.Tag)
		if err != nil {
			return nil, fmt.Errorf("digest artifacts of %s: %w", mv.Ref(), err)
		}
		if trap {
			res.Status = tagModelsURI
		}
	}
	return res, nil
}

// versionNotFound says whether the model or the version is missing, and
// its newest version, when err is ENOTFOUND; otherwise it returns err.
func versionNotFound(ctx context.Context, reg modelgate.Registry, model, version string, err error) error {
	if modelgate.ErrorCode(err) != modelgate.ENOTFOUND {
		return err
	}
	vs, lerr := reg.ListVersions(ctx, model)
	switch {
	case modelgate.ErrorCode(lerr) == modelgate.ENOTFOUND:
		return modelgate.Errorf(modelgate.ENOTFOUND, "the registry has no model named %q", model)
	case lerr != nil || len(vs) == 0:
		return modelgate.Errorf(modelgate.ENOTFOUND, "model %s has no version %s", model, version)
	}
	return modelgate.Errorf(modelgate.ENOTFOUND, "model %s has no version %s (its newest is version %s)", model, version, vs[len(vs)-1].Version)
}

// setDigestTag sets model_sha256 where the tag is missing or the models:/
// download's, refuses to hide another difference unless forced, and leaves
// a matching tag alone.
func setDigestTag(ctx context.Context, a *app, res *digestResult, force bool) error {
	switch {
	case res.Status == tagMatches:
		return nil
	case res.Status == tagDiffers && !force:
		return modelgate.Errorf(modelgate.EPRECONDITION,
			"%s version %s: its %s tag says %s, but the files the registry holds give %s, and the difference is not that of a models:/ download: the files may have changed after the tag was set",
			res.Model, res.Version, modelgate.TagModelSHA256, res.Tag, res.Digest).
			WithHint("re-register the model; or, if you know the files are right, replace the tag with --set-tag --force")
	}
	what := fmt.Sprintf("tag %s=%s (was %q, %s)", modelgate.TagModelSHA256, res.Digest, res.Tag, res.Status)
	err := a.service(nil).RegistryChange(ctx, res.Model, res.Version, what, func(ctx context.Context) error {
		return a.registry.SetVersionTag(ctx, res.Model, res.Version, modelgate.TagModelSHA256, res.Digest)
	})
	if err != nil {
		return err
	}
	res.TagSet = true
	return nil
}

func printDigest(g *globals, res *digestResult) {
	fmt.Fprintf(g.stdout, "%s version %s: model_sha256 %s (%d files)\n", res.Model, res.Version, res.Digest, res.Files)
	switch {
	case res.Status == tagMatches:
		fmt.Fprintln(g.stdout, "the tag model_sha256 matches")
	case res.TagSet && res.Status == tagMissing:
		fmt.Fprintln(g.stdout, "tag model_sha256 set")
	case res.TagSet:
		fmt.Fprintf(g.stdout, "tag model_sha256 set (it was %s)\n", res.Tag)
	case res.Status == tagMissing:
		fmt.Fprintln(g.stdout, "the version has no model_sha256 tag; --set-tag sets it")
	case res.Status == tagModelsURI:
		fmt.Fprintf(g.stdout, "the tag model_sha256 (%s) is the digest of a models:/ download of these files, with the %s file MLflow's client adds; --set-tag replaces it\n",
			res.Tag, modelgate.ModelsURIMetaFile)
	default:
		fmt.Fprintf(g.stdout, "the tag model_sha256 says %s: the files changed after it was set, or it was computed on other files\n", res.Tag)
	}
}
