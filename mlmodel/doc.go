// Package mlmodel loads an MLflow model directory (the MLmodel file and its
// flavor's files) so the gateway can serve it in-process: Load, then
// Model.Features to turn request instances into feature rows with the
// transform declared in MLmodel metadata.modelgate.feature_transform, then
// Model.Predict.
//
// The MLmodel file itself (flavors, signature, input example, the feature
// transform declaration) is read by the shared leaf mlmodelfile; this
// package compiles the transform against the booster and runs it. The
// lightgbm and xgboost flavors are served natively, through packages
// lightgbm and xgboost: the adapter-to-adapter imports documented in
// docs/ARCHITECTURE.md (neither knows anything of MLflow or imports
// mlmodel). It imports the root package, mlmodelfile, lightgbm and
// xgboost, and nothing that talks to an MLflow server: fetching artifacts is
// package mlflow's job.
package mlmodel
