package kservetest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/yaml"
)

var crdGVR = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

// crdTimeout bounds the wait for discovery to serve new CRDs (envtest's
// default 10s is too short on a busy 2-core machine).
const crdTimeout = time.Minute

// installCRDs creates the CustomResourceDefinitions in files and waits,
// as envtest does, until discovery lists each one in every served version.
func (c *Cluster) installCRDs(files ...string) error {
	var crds []*unstructured.Unstructured
	for _, f := range files {
		objs, err := readYAML(f)
		if err != nil {
			return err
		}
		crds = append(crds, objs...)
	}
	for _, crd := range crds {
		if _, err := c.Dyn.Resource(crdGVR).Create(context.Background(), crd, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("create CRD %s: %w", crd.GetName(), err)
		}
	}
	deadline := time.Now().Add(crdTimeout)
	for _, crd := range crds {
		for _, gv := range servedVersions(crd) {
			plural, _, _ := unstructured.NestedString(crd.Object, "spec", "names", "plural")
			for !c.serves(gv, plural) {
				if time.Now().After(deadline) {
					return fmt.Errorf("CRD %s: %s not served by %s within %s", crd.GetName(), plural, gv, crdTimeout)
				}
				time.Sleep(100 * time.Millisecond)
			}
		}
	}
	return nil
}

func servedVersions(crd *unstructured.Unstructured) []string {
	group, _, _ := unstructured.NestedString(crd.Object, "spec", "group")
	versions, _, _ := unstructured.NestedSlice(crd.Object, "spec", "versions")
	var out []string
	for _, v := range versions {
		v, _ := v.(map[string]any)
		if served, _ := v["served"].(bool); served {
			out = append(out, fmt.Sprintf("%s/%v", group, v["name"]))
		}
	}
	return out
}

// serves reports whether discovery lists resource in groupVersion.
func (c *Cluster) serves(groupVersion, resource string) bool {
	list, err := c.Kube.Discovery().ServerResourcesForGroupVersion(groupVersion)
	if err != nil {
		return false
	}
	return slices.ContainsFunc(list.APIResources, func(r metav1.APIResource) bool { return r.Name == resource })
}

// readYAML reads every object of a (multi-document) YAML file.
func readYAML(path string) ([]*unstructured.Unstructured, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	dec := yaml.NewYAMLOrJSONDecoder(f, 4096)
	var out []*unstructured.Unstructured
	for {
		var m map[string]any
		err := dec.Decode(&m)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if len(m) > 0 {
			out = append(out, &unstructured.Unstructured{Object: m})
		}
	}
}
