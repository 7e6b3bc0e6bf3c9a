// Package mlmodel loads an MLflow model directory (the MLmodel file and its
// flavor's files) so the gateway can serve it in-process: Load, then
// Model.Features to turn request instances into feature rows with the
// transform declared in MLmodel metadata.modelgate.feature_transform, then
// Model.Predict.
//
// The MLmodel file itself (flavors, signature, input example, the feature
// transform declaration) is read by the shared leaf mlmodelfile; this
// package compiles the transform against the booster and runs it. Only the
// lightgbm flavor is served natively, through package lightgbm: the one
// adapter-to-adapter import, documented in docs/ARCHITECTURE.md (lightgbm
// knows nothing of MLflow and never imports mlmodel). It imports the root
// package, mlmodelfile and lightgbm, and nothing that talks to an MLflow
// server: fetching artifacts is package mlflow's job.
package mlmodel
