// Package mlmodelfile is the MLflow model directory's descriptor, the
// MLmodel file: its flavors, signature, saved input example and modelgate's
// feature transform declaration (metadata.modelgate.feature_transform).
// Read and Parse decode it; nothing here loads or runs a model.
//
// It is a shared leaf: it imports only the root package, the standard
// library and go.yaml.in/yaml/v3, so adapters and policy packages may import
// it. mlmodel loads and serves a model directory with it (and lightgbm);
// smoke reads the signature with it (smoke.ReadSpec) to build and check its
// requests, without importing mlmodel, an adapter.
package mlmodelfile
