// Package sqlite is modelgate's embedded storage: a model registry with
// MLflow's semantics (Registry, also a Registrar) and the PromotionStore,
// both in one SQLite file opened through DB, with model artifacts kept in a
// content-addressed directory (<artifactDir>/sha256/<digest>/).
//
// It imports only the root package modelgate (plus the SQLite driver), never
// other adapters or policy packages. Entry points: NewDB + Open, NewRegistry,
// NewPromotionStore. Errors copy MLflow's messages, but a missing alias is
// ENOTFOUND where MLflow answers INVALID_PARAMETER_VALUE.
package sqlite
