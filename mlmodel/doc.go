// Package mlmodel loads an MLflow model directory (the MLmodel file and its
// flavor's files) so the gateway can serve it in-process: Load, then
// Model.Features to turn request instances into feature rows with the
// transform declared in MLmodel metadata.modelgate.feature_transform, then
// Model.Predict.
//
// Only the lightgbm flavor is served natively (through package lightgbm).
// It imports the root package, lightgbm and gopkg.in/yaml.v3, and nothing
// that talks to an MLflow server: fetching artifacts is package mlflow's job.
package mlmodel
