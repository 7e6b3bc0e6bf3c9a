// Package loadgen sends open-loop, fixed-rate HTTP load to a local gateway
// for benchmarks and the demo: requests leave on schedule whether or not
// earlier ones have answered, and a request that would exceed the
// concurrency limit is dropped and counted rather than queued. It only
// targets loopback addresses. Run is the entry point; ReadInstances and
// V1Bodies turn a CSV of request rows into the bodies to send. It imports
// only the standard library.
package loadgen
