// Package xgboost evaluates XGBoost tree models saved in XGBoost's JSON and
// UBJSON model formats (Booster.save_model to .json or .ubj, and what
// mlflow.xgboost.log_model writes), in pure Go, with the same results as
// XGBoost's CPU predictor: feature values, split conditions, leaf values and
// margins in float32, NaN as the missing value, right child = left child + 1
// for the non-missing branch, margins summed per output group in tree order
// from the base score (mapped to margin space as the objective does), then
// the objective's output transform.
//
// Gradient-boosted trees (gbtree) and dart with its tree weights are
// served, with numerical and categorical splits. gblinear, vector-leaf trees
// (multi_strategy=multi_output_tree), category re-coding of pandas columns
// and unknown objectives are refused with an error that names them.
//
// The UBJSON reader is hand-written: no Go UBJSON module is offered by the
// module proxy this project builds from (github.com/jmank88/ubjson, the
// usual one, is not served, and none is listed among the approved modules),
// and XGBoost writes a small, fixed subset of UBJSON (see ubjson.go).
//
// Entry points: Parse, ParseFile, and Model.Predict / PredictMargin /
// PredictBatch. It imports only the standard library and the root modelgate
// package (for *modelgate.Error); it knows nothing of MLflow. Package
// mlmodel, which runs an MLflow model's xgboost flavor with it, is its only
// importer.
package xgboost
