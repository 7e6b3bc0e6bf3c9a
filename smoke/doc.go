// Package smoke holds the staging gates of playbook step 3: Requests sends
// smoke requests to the staging endpoint and checks status, structure,
// finiteness and latency; Evaluation sends a ground-truth data set through
// the staging endpoint and compares the accuracy with the metrics logged on
// the version's training run. Both implement promotion.Gate.
//
// It imports the root package, inference (the V1 client) and the standard
// library; no adapter.
package smoke
