package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/gateway/loadgen"
	"github.com/modelgate/modelgate/mlmodel"
)

func newRegistryCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "registry",
		Short: "List, show, register, tag and transition model versions in the registry",
		Long: `Work with the configured registry. The embedded registry (registry.type: local)
keeps models, versions, stages (None, Staging, Production, Archived), aliases,
version tags, training metrics and artifacts addressed by their model_sha256 digest.`,
	}
	cmd.AddCommand(registryList(g), registryShow(g), registryRegister(g), registryTag(g), registryTransition(g), registryDigest(g))
	return cmd
}

// withReadApp opens the configured adapters for a command that only reads:
// it says on stderr which configuration and paths it reads, and refuses,
// rather than create an empty registry and state, where there are none.
func (g *globals) withReadApp(cmd *cobra.Command, f func(a *app) error) error {
	cfg, err := g.config(cmd)
	if err != nil {
		return err
	}
	if err := cfg.mustExist(); err != nil {
		return err
	}
	if !g.json() {
		fmt.Fprintf(g.stderr, "modelgate: %s\n", cfg.describe())
	}
	a, err := openApp(cfg, nil)
	if err != nil {
		return err
	}
	defer a.Close()
	return f(a)
}

// withApp opens the configured adapters for one command.
func (g *globals) withApp(cmd *cobra.Command, f func(a *app) error) error {
	cfg, err := g.config(cmd)
	if err != nil {
		return err
	}
	a, err := openApp(cfg, nil)
	if err != nil {
		return err
	}
	defer a.Close()
	return f(a)
}

func registryList(g *globals) *cobra.Command {
	return &cobra.Command{
		Use: "list", Short: "List registered models and the version in each stage", Args: nArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return g.withReadApp(cmd, func(a *app) error {
				models, err := a.registry.ListModels(cmd.Context())
				if err != nil {
					return err
				}
				if g.json() {
					return g.printJSON(models)
				}
				w := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(w, "MODEL\tVERSIONS\tPRODUCTION\tSTAGING")
				for _, m := range models {
					vs, err := a.registry.ListVersions(cmd.Context(), m.Name)
					if err != nil {
						return err
					}
					fmt.Fprintf(w, "%s\t%d\t%s\t%s\n", m.Name, len(vs), inStage(vs, modelgate.StageProduction), inStage(vs, modelgate.StageStaging))
				}
				return w.Flush()
			})
		},
	}
}

func inStage(vs []*modelgate.ModelVersion, st modelgate.Stage) string {
	return modelgate.StageVersions(vs, st)
}

func registryShow(g *globals) *cobra.Command {
	return &cobra.Command{
		Use: "show MODEL [VERSION]", Short: "Show a model's versions, or one version with its tags and metrics",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) < 1 || len(args) > 2 {
				return &usageErr{fmt.Errorf("registry show expects MODEL [VERSION]")}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.withReadApp(cmd, func(a *app) error {
				if len(args) == 2 {
					return showVersion(g, cmd, a, args[0], args[1])
				}
				vs, err := a.registry.ListVersions(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				if g.json() {
					return g.printJSON(vs)
				}
				w := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(w, "VERSION\tSTAGE\tALIASES\tGIT_SHA\tMODEL_SHA256")
				for _, v := range vs {
					fmt.Fprintf(w, "%s\t%s\t%s\t%.12s\t%.16s\n", v.Version, v.Stage, strings.Join(v.Aliases, ","), v.Tags[modelgate.TagGitSHA], v.Tags[modelgate.TagModelSHA256])
				}
				return w.Flush()
			})
		},
	}
}

func showVersion(g *globals, cmd *cobra.Command, a *app, model, version string) error {
	v, err := a.registry.GetVersion(cmd.Context(), model, version)
	if err != nil {
		return err
	}
	metrics, err := a.registry.VersionMetrics(cmd.Context(), model, version)
	if err != nil {
		return err
	}
	if g.json() {
		return g.printJSON(map[string]any{"version": v, "metrics": metrics})
	}
	fmt.Fprintf(g.stdout, "%s version %s\n  stage:   %s\n  aliases: %s\n  source:  %s\n  tags:\n", v.Name, v.Version, v.Stage, strings.Join(v.Aliases, ", "), v.Source)
	for _, k := range sortedKeys(v.Tags) {
		fmt.Fprintf(g.stdout, "    %s = %s\n", k, v.Tags[k])
	}
	fmt.Fprintln(g.stdout, "  metrics:")
	for _, k := range sortedKeys(metrics) {
		fmt.Fprintf(g.stdout, "    %s = %.6g\n", k, metrics[k])
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func registryRegister(g *globals) *cobra.Command {
	var tags []string
	var metricsFile, stage, sample string
	cmd := &cobra.Command{
		Use: "register MODEL DIR", Short: "Register an MLflow model directory as a new version",
		Long: `Register a model directory (MLmodel plus flavor files) as the next version of
MODEL. The artifact is copied into the registry under its model_sha256 digest and
the tag model_sha256 is set. With --reference-sample, the training reference
profile (per-feature sketches and the prediction distribution on that sample) is
added to the artifact as reference_profile.json; the canary judge compares live
features with it.`,
		Example: `  modelgate registry register demand-forecast ./models/v2 --stage Staging \
      --tag git_sha=4f1c2e --tag dataset_version=sales-2024-12-31 --tag approver=ada \
      --metrics ./models/v2-metrics.json`,
		Args: nArgs(2, "MODEL DIR"),
		RunE: func(cmd *cobra.Command, args []string) error {
			nv := modelgate.NewVersion{Name: args[0], Dir: args[1]}
			var err error
			if nv.Tags, err = parseTags(tags); err != nil {
				return err
			}
			if nv.Metrics, err = readMetrics(metricsFile); err != nil {
				return err
			}
			if stage != "" {
				if nv.Stage, err = modelgate.ParseStage(stage); err != nil {
					return &usageErr{err}
				}
			}
			if sample != "" {
				rows, err := loadgen.ReadInstances(sample)
				if err != nil {
					return &usageErr{fmt.Errorf("--reference-sample: %v", err)}
				}
				dir, err := mlmodel.WithReferenceProfile(nv.Dir, rows)
				if err != nil {
					return err
				}
				defer os.RemoveAll(filepath.Dir(dir))
				nv.Dir = dir
			}
			return g.withApp(cmd, func(a *app) error {
				var v *modelgate.ModelVersion
				err := a.service(nil).RegistryChange(cmd.Context(), nv.Name, "", "register "+args[1], func(ctx context.Context) error {
					var err error
					v, err = a.registry.CreateVersion(ctx, nv)
					return err
				})
				if err != nil {
					return err
				}
				if g.json() {
					return g.printJSON(v)
				}
				fmt.Fprintf(g.stdout, "registered %s version %s (%s), model_sha256 %s\n", v.Name, v.Version, v.Stage, v.Tags[modelgate.TagModelSHA256])
				return nil
			})
		},
	}
	cmd.Flags().StringArrayVar(&tags, "tag", nil, "version tag KEY=VALUE (repeatable)")
	cmd.Flags().StringVar(&metricsFile, "metrics", "", "JSON file of training metrics, e.g. {\"mae\": 3.1}")
	cmd.Flags().StringVar(&stage, "stage", "", "initial stage: None, Staging, Production or Archived")
	cmd.Flags().StringVar(&sample, "reference-sample", "", "CSV of training rows (raw request fields): its feature and prediction profile is stored with the version, for drift checks")
	return cmd
}

func parseTags(kvs []string) (map[string]string, error) {
	tags := map[string]string{}
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, &usageErr{fmt.Errorf("tag %q: expected KEY=VALUE", kv)}
		}
		tags[k] = v
	}
	return tags, nil
}

func readMetrics(path string) (map[string]float64, error) {
	if path == "" {
		return nil, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, &usageErr{fmt.Errorf("--metrics: %v", err)}
	}
	var m map[string]float64
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, &usageErr{fmt.Errorf("--metrics %s: expected a JSON object of numbers like {\"mae\": 3.1}: %v", path, err)}
	}
	return m, nil
}

func registryTag(g *globals) *cobra.Command {
	return &cobra.Command{
		Use: "tag MODEL VERSION KEY=VALUE...", Short: "Set version tags",
		Example: `  modelgate registry tag demand-forecast 7 approver=ada dataset_version=sales-2024-12-31`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) < 3 {
				return &usageErr{fmt.Errorf("registry tag expects MODEL VERSION KEY=VALUE...")}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			tags, err := parseTags(args[2:])
			if err != nil {
				return err
			}
			return g.withApp(cmd, func(a *app) error {
				if _, err := a.registry.GetVersion(cmd.Context(), args[0], args[1]); err != nil {
					return err
				}
				what := "tag " + strings.Join(args[2:], " ")
				err := a.service(nil).RegistryChange(cmd.Context(), args[0], args[1], what, func(ctx context.Context) error {
					for _, k := range sortedKeys(tags) {
						if err := a.registry.SetVersionTag(ctx, args[0], args[1], k, tags[k]); err != nil {
							return err
						}
					}
					return nil
				})
				if err != nil {
					return err
				}
				fmt.Fprintf(g.stdout, "%s version %s: %d tag(s) set\n", args[0], args[1], len(tags))
				return nil
			})
		},
	}
}

func registryTransition(g *globals) *cobra.Command {
	var archive bool
	cmd := &cobra.Command{
		Use: "transition MODEL VERSION STAGE", Short: "Move a version to None, Staging, Production or Archived",
		Example: `  modelgate registry transition demand-forecast 7 Staging`,
		Args:    nArgs(3, "MODEL VERSION STAGE"),
		ValidArgsFunction: func(cmd *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
			if len(args) == 2 {
				return []string{"None", "Staging", "Production", "Archived"}, cobra.ShellCompDirectiveNoFileComp
			}
			return nil, cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := modelgate.ParseStage(args[2])
			if err != nil {
				return &usageErr{err}
			}
			return g.withApp(cmd, func(a *app) error {
				var v *modelgate.ModelVersion
				what := fmt.Sprintf("transition to %s (archive existing: %v)", st, archive)
				err := a.service(nil).RegistryChange(cmd.Context(), args[0], args[1], what, func(ctx context.Context) error {
					var err error
					v, err = a.registry.TransitionStage(ctx, args[0], args[1], st, archive)
					return err
				})
				if err != nil {
					return err
				}
				if g.json() {
					return g.printJSON(v)
				}
				fmt.Fprintf(g.stdout, "%s version %s is now %s\n", v.Name, v.Version, v.Stage)
				return nil
			})
		},
	}
	cmd.Flags().BoolVar(&archive, "archive-existing", false, "archive the other versions in the target stage (Staging or Production)")
	return cmd
}
