// Package sketch accumulates one measured quantity into a
// modelgate.Distribution: exact count, sum, sum of squares, min and max, and
// a DDSketch (1% relative accuracy) for quantiles and for the mergeable
// Sketch encoding judges decode. The gateway (live traffic) and payload
// (KServe's logged payloads) both build their per-revision figures with it,
// so their distributions share one shape and one bucket layout. It imports
// only the root package and DataDog's sketches-go; it knows nothing of HTTP
// or revisions.
package sketch
