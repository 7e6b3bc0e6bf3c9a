package examples

import "embed"

// FS holds demand-forecast/: the three MLflow LightGBM model directories,
// their training metrics and registration facts, the training data (the
// reference sample for drift), the ground-truth set and the live request rows
// the demo sends as traffic.
//
//go:embed demand-forecast/models demand-forecast/versions.json demand-forecast/data/ground_truth.csv demand-forecast/data/live_requests.csv demand-forecast/data/sales.csv
var FS embed.FS
