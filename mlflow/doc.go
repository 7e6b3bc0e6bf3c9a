// Package mlflow implements modelgate.Registry and modelgate.Registrar over
// MLflow's REST API (tracking server 2.x and 3.x, OSS or compatible): the
// registry endpoints under /api/2.0/mlflow, artifacts through the tracking
// server's proxy (/api/2.0/mlflow-artifacts), the training run's metrics.
//
// New(Options) returns a *Registry; OptionsFromEnv reads MLflow's own client
// variables (MLFLOW_TRACKING_URI, _USERNAME/_PASSWORD, _TOKEN, _INSECURE_TLS,
// _SERVER_CERT_PATH). Failures become *modelgate.Error with MLflow's message
// kept; idempotent calls are retried with backoff on transient failures.
// DownloadArtifacts verifies an OpenSSF model-signing signature (key-based
// Sigstore bundle) when public keys are configured.
//
// It imports only the root package and the standard library, never another
// adapter or the promotion policy. Its tests start a real `mlflow server`
// (see scripts/mlflow-env).
package mlflow
