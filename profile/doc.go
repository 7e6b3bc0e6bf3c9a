// Package profile computes a version's training reference profile
// (modelgate.Profile) from a reference sample: per-feature DDSketches (1%
// relative accuracy, the same mapping as the gateway's, so the judge can
// compare them bucket for bucket), category counts for categorical
// features, and the distribution of the model's predictions on the sample.
// The profile is plain JSON (encoding/json of modelgate.Profile) and its
// size does not grow with the sample. It imports the root package and
// sketch (the accumulator the gateway uses too) only, and does no I/O.
package profile
