// Package lightgbm evaluates LightGBM models saved in LightGBM's text format
// (version v3 and v4), in pure Go, with the same results as the LightGBM
// library: same tree walk, missing-value rules, categorical bitsets, summation
// order and output transform.
//
// It is hand-written because github.com/dmitryikh/leaves, the usual Go
// reader, stops at format v3 and LightGBM 4.x writes v4. Entry points: Parse,
// ParseFile, and Model.Predict / PredictRow / PredictBatch. It imports only
// the standard library and the root modelgate package (for *modelgate.Error);
// it knows nothing of MLflow. Package mlmodel, which runs an MLflow model's
// lightgbm flavor with it, is its only importer: the one adapter-to-adapter
// import, documented in docs/ARCHITECTURE.md.
package lightgbm
