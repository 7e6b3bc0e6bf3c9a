package kserve

import (
	"fmt"
	"os"
	"path/filepath"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// The manifests the playbook names, relative to Options.GitOpsDir.
const (
	ManifestStaging    = "serving/inferenceservice.yaml"
	ManifestProduction = "serving/inferenceservice-prod.yaml"
)

// ManifestPrevious is the production manifest of version kept for rollback.
func ManifestPrevious(version string) string {
	return fmt.Sprintf("serving/inferenceservice-prod-v%s.yaml", version)
}

// Marshal returns obj as the YAML modelgate writes in GitOps mode.
func Marshal(obj *unstructured.Unstructured) ([]byte, error) {
	return yaml.Marshal(obj.Object)
}

func (d *Deployer) writeManifest(e env, obj *unstructured.Unstructured) error {
	rel := ManifestStaging
	if e == envProduction {
		rel = ManifestProduction
	}
	b, err := Marshal(obj)
	if err != nil {
		return err
	}
	return writeFile(filepath.Join(d.opts.GitOpsDir, rel), b)
}

// keepPrevious, in GitOps mode, keeps production's manifest for the version
// it fully serves as serving/inferenceservice-prod-v<VERSION>.yaml before the
// canary overwrites it.
func (d *Deployer) keepPrevious(cur *view) error {
	if d.opts.GitOpsDir == "" {
		return nil
	}
	if _, has := cur.canaryPercent(); has {
		return nil // a canary is already written; the stable manifest was kept then
	}
	dep, err := deploymentOf(cur.obj)
	if err != nil {
		return err
	}
	obj, err := d.opts.Render(dep, cur.obj.GetNamespace(), nil)
	if err != nil {
		return err
	}
	b, err := Marshal(obj)
	if err != nil {
		return err
	}
	return writeFile(filepath.Join(d.opts.GitOpsDir, ManifestPrevious(dep.Version)), b)
}

func writeFile(path string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("write manifest: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return fmt.Errorf("write manifest: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write manifest: %w", err)
	}
	return nil
}
