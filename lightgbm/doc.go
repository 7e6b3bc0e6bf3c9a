// Package lightgbm evaluates LightGBM models saved in LightGBM's text format
// (version v3 and v4), in pure Go, with the same results as the LightGBM
// library: same tree walk, missing-value rules, categorical bitsets, summation
// order and output transform.
//
// It is hand-written because no maintained Go library evaluates LightGBM
// models exactly: github.com/dmitryikh/leaves, the usual Go reader, stops at
// format v3 (LightGBM 4.x writes v4) and is no longer maintained, and cgo
// bindings to LightGBM's C API would tie the binary to a C++ toolchain.
// Entry points: Parse, ParseFile; Model.Predict, PredictRow, PredictRaw for
// one row; PredictBatch, PredictBatchInto, PredictBatchRaw and
// PredictBatchRawInto for many (multiclass through the Into and Raw forms).
//
// Layout (flat.go). Parse checks each tree in LightGBM's own columns (tree.go
// holds the decision rules, written as LightGBM's Tree::NumericalDecision
// and CategoricalDecision) and then flattens the model: every split of every
// tree in one slice of 24-byte nodes, depth-first, children as absolute
// indexes (or ^leaf into one slice of leaf values), categorical bitsets in
// one slice of words. A batch is cut into blocks of 128 rows copied feature by
// feature; each tree in file order walks the whole block, one step for every
// unfinished row at a time, so the tree stays in L1, the 128 independent walks
// overlap in the processor, and numerical splits are decided without
// branches (NaN, zero-as-missing and the default direction folded into two
// flags a node). Each row still adds its trees' outputs in file order, then
// averages (random forest) and transforms, so batch and row results are
// bit-identical to each other and to LightGBM's where LightGBM's exp agrees
// with Go's. Batches of 1024 rows and more are split over GOMAXPROCS
// goroutines.
//
// QuickScorer (quickscorer.go; Lucchese et al., SIGIR 2015). For models whose
// trees have at most 64 leaves, rows (batches, and single rows of models up
// to 1024 trees) skip the walk when a cost estimate made at Parse favours it:
// each tree keeps a bitmask of the leaves a row can still reach, every split
// that sends the row right clears its left subtree's bits (numerical splits
// found by a search in each feature's sorted thresholds, with a stored row of
// masks every few thresholds; categorical splits, zero and NaN through tables
// built with the walk's own decision rule), and the lowest bit left is the
// exit leaf. Four rows are summed side by side, each in file order, so the
// results are the walk's to the bit (tests hold both to the reference).
//
// Linear trees (linear_tree=true) are evaluated as Tree::Predict
// does: the leaf's constant plus each coefficient times its feature, the
// leaf value if one of those features is NaN.
//
// It imports only the standard library and the root modelgate package (for
// *modelgate.Error); it knows nothing of MLflow. Package mlmodel, which runs
// an MLflow model's lightgbm flavor with it, is its only importer: the one
// adapter-to-adapter import, documented in docs/ARCHITECTURE.md.
package lightgbm
