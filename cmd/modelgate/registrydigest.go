package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/promotion"
)

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
				svc := a.service(nil)
				res, err := svc.Digest(cmd.Context(), args[0], args[1])
				if err != nil {
					return err
				}
				if setTag {
					if err := svc.SetDigestTag(cmd.Context(), res, force); err != nil {
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

func printDigest(g *globals, res *promotion.VersionDigest) {
	fmt.Fprintf(g.stdout, "%s version %s: model_sha256 %s (%d files)\n", res.Model, res.Version, res.Digest, res.Files)
	switch {
	case res.TagStatus == promotion.TagMatches:
		fmt.Fprintln(g.stdout, "the tag model_sha256 matches")
	case res.TagSet && res.TagStatus == promotion.TagMissing:
		fmt.Fprintln(g.stdout, "tag model_sha256 set")
	case res.TagSet:
		fmt.Fprintf(g.stdout, "tag model_sha256 set (it was %s)\n", res.Tag)
	case res.TagStatus == promotion.TagMissing:
		fmt.Fprintln(g.stdout, "the version has no model_sha256 tag; --set-tag sets it")
	case res.TagStatus == promotion.TagModelsURI:
		fmt.Fprintf(g.stdout, "the tag model_sha256 (%s) is the digest of a models:/ download of these files, with the %s file MLflow's client adds; --set-tag replaces it\n",
			res.Tag, modelgate.ModelsURIMetaFile)
	default:
		fmt.Fprintf(g.stdout, "the tag model_sha256 says %s: the files changed after it was set, or it was computed on other files\n", res.Tag)
	}
}
