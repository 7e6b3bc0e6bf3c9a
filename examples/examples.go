// Package examples bundles the example model directories and data sets into
// the binary, so `modelgate demo` runs on a machine with nothing else
// installed. The files themselves are produced by
// demand-forecast/generate.py (see demand-forecast/README.md).
package examples

import "embed"

// FS holds demand-forecast/: the three MLflow LightGBM model directories,
// their training metrics and registration facts, the ground-truth set and
// the live request rows the demo sends as traffic.
//
//go:embed demand-forecast/models demand-forecast/versions.json demand-forecast/data/ground_truth.csv demand-forecast/data/live_requests.csv
var FS embed.FS
