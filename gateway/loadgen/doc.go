// Package loadgen sends open-loop, fixed-rate HTTP load to local servers
// for benchmarks and the demo: requests leave on schedule whether or not
// earlier ones have answered. It only targets loopback addresses.
//
// Run is the general driver (any method, headers, a net/http client): a
// request that would exceed the concurrency limit is dropped and counted
// rather than queued. Its schedule follows Go's timers, which wake in
// whole milliseconds, so requests leave in bursts a millisecond apart and
// latency from the scheduled time includes up to a millisecond of the
// timer's lateness: right for the demo's traffic, too coarse to measure a
// server that answers in tens of microseconds.
//
// Paced is the measuring driver, Linux only: JSON POSTs on connections
// opened up front, each request sent at its due time to the microsecond
// (a timerfd in the driver's own epoll set, on a locked thread, written
// against golang.org/x/sys/unix since neither the runtime's poller nor any
// load generator at hand paces finer than a millisecond), its latency
// counted from that time. It reads answers framed by Content-Length, as
// the servers it measures send them.
//
// ReadInstances and V1Bodies turn a CSV of request rows into the bodies
// to send.
package loadgen
