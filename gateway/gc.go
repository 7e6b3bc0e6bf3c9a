package gateway

import "runtime/debug"

// GCPercent is the garbage collector's target a serving process runs
// with (GOGC) unless its environment sets one. The gateway's live heap is
// a few MiB (a model is flat arrays), so at Go's default of 100 the heap
// never outgrows the runtime's 4 MiB minimum goal and a collection runs
// every few thousand one-instance requests, about 3% of the CPU at
// saturation and 6% of req/s by `modelgate serve` measured with wrk. At
// 400 the heap peaks near 5x the live heap instead of 2x.
const GCPercent = 400

// SetGCPercent applies GCPercent to this process unless gogc (the GOGC
// environment variable's value) is set; it returns the percent in force.
func SetGCPercent(gogc string) int {
	if gogc != "" {
		old := debug.SetGCPercent(-1)
		debug.SetGCPercent(old)
		return old
	}
	debug.SetGCPercent(GCPercent)
	return GCPercent
}
