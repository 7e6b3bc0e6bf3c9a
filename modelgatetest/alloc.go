package modelgatetest

import (
	"runtime"
	"testing"
)

// WantBoundedAlloc runs f, which reads an input of size bytes, and fails tb
// if f allocated more than 1 MiB plus 1000 bytes per input byte. Fuzz
// targets check it so that a small input cannot make a parser allocate what
// the input merely declares (a shape, a count). Allocations by other
// goroutines meanwhile count too, so f should be alone in allocating.
func WantBoundedAlloc(tb testing.TB, size int, f func()) {
	tb.Helper()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	if n, limit := after.TotalAlloc-before.TotalAlloc, uint64(1<<20+1000*size); n > limit {
		tb.Fatalf("reading %d bytes allocated %d bytes, more than %d", size, n, limit)
	}
}
