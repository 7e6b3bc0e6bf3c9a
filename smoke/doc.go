// Package smoke holds the staging gates of playbook step 3. Requests sends
// smoke requests (from the configuration, or generated from the model's
// input example and signature) over V1 and/or V2 and reports five checks per
// protocol: status, structure (V1 predictions; V2 outputs with the declared
// names, shapes and datatypes), finite, bounds and latency_p95. Evaluation
// sends a ground-truth data set (CSV or Parquet, a path or a registry
// artifact) through the staging endpoint in batches, computes metrics
// overall and per segment, and compares them with the training run's and
// with production's on the same data. Both implement modelgate.Gate, and
// every check names itself, the expected and the observed value.
//
// It imports the root package, promotion, inference (the V1/V2 client), the
// shared leaves wire (the V1/V2 messages) and mlmodelfile (the MLmodel
// signature, read by ReadSpec), the Parquet reader and the standard library;
// no adapter. Model metadata comes in through a SpecReader.
package smoke
