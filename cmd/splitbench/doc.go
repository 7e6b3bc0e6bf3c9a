// Command splitbench compares the gateway with nginx as a splitting proxy in
// front of the same external model server: cmd/trivialhandler, a fast KServe
// V1 upstream. Each proxy splits 90/10 between a stable and a canary upstream
// (both the one trivialhandler; nginx with split_clients over two upstream
// blocks kept alive, the gateway with two URL revisions, UpstreamSpec). wrk
// sends single-instance V1 bodies made from
// examples/demand-forecast/data/live_requests.csv with 32 connections.
//
// Cores are pinned as on a two-core machine: the proxy on core 0, the
// upstream and wrk on core 1. For every proxy (and the upstream alone, the
// "direct" row) it reports requests/s, p50 and p99 latency, the CPU time
// (utime+stime from /proc/PID/stat, children included) per request of the
// proxy and of the upstream, wrk's errors (non-2xx answers and socket errors)
// and, for the gateway, the errors its own figures counted over the run.
//
// Two columns say why the upstream's CPU per request moves with the proxy in
// front of it. sleeps/req is how often the proxy went to sleep per request
// (voluntary context switches, every thread of it); IPI0/req and IPI1/req are
// the interrupts cores 0 and 1 received to wake or preempt a task (the RES and
// CAL rows of /proc/interrupts, counted machine-wide). A proxy asleep on core 0
// is woken by the next packet from core 1, and the sender pays for the
// interrupt; in a virtual machine that is an exit to the hypervisor. Those
// costs land on core 1, where the upstream and wrk share the CPU, and can make
// the upstream look dearer behind a proxy that sleeps more per request.
// -goloop-spin 200us makes goloop poll for that long after each event before
// it sleeps (`splitbench loop -spin`): a control with almost no wake-ups of
// core 0, at the price of a busy core.
//
// -busy-poll 200us adds the row "modelgate-bp": the gateway with that
// busy_poll (gateway.Options.BusyPoll), which keeps its thread polling the
// network for 200 µs after each event instead of sleeping. Its sleeps/req
// and IPI0/req fall to almost nothing, so core 1 no longer pays to wake it;
// its proxy µs/req counts the polling too, which at any steady rate fills
// core 0. The JSON gives its req/s over nginx's as rps_ratio_busy_poll.
//
//	scripts/bench-split                       # 10 s per run, one round
//	scripts/bench-split -rounds 3 -duration 5s
//	scripts/bench-split -busy-poll 200us      # and the gateway busy polling
//
// Each run is followed by one with a single wrk connection (-unloaded, half
// the duration): there p50 is the latency a proxy adds, while with 32
// connections back to back it is about 32 / (req/s). The JSON line's
// added p50s are per round (the proxy's p50 less the direct run's of the
// same round) and then the median over the rounds (each round starts with
// the direct run; the proxies take turns to come next); its other figures are
// each proxy's median round by req/s.
//
// After those, each target is measured open loop at fixed rates (-rates:
// fractions of the first direct run's req/s, the same rates for every
// target and round): `splitbench load` sends requests on schedule whether
// or not earlier ones have answered, on 64 connections, and times each from
// the moment it was due. Below saturation, a proxy's added p50 is its own
// delay plus the queueing its load causes, and the upstream's CPU per
// request is its own cost rather than how it fares sharing core 1 with a
// saturating wrk. wrk cannot pace (its delay() sleeps whole milliseconds)
// nor can Go's timers (the runtime's poller waits in whole milliseconds, so
// at 10k req/s requests would leave in bursts of ten): the load loop waits
// on a timerfd in its own epoll set, on a locked thread (loadgen.Paced).
// CPU per request there counts the unmeasured first second's requests too,
// as the CPU samples span it.
//
// -goloop adds a third proxy, "goloop" (`splitbench loop`, Linux): a
// forwarder in Go that does nothing else. One locked thread waits on one
// epoll set, frames messages by Content-Length, sends every tenth request
// (-percent) to the canary and keeps upstream connections alive; it
// measures nothing and checks nothing. It is the floor for a proxy written
// in Go on this rig: what the gateway's own work costs on top of it, and
// what any Go proxy pays next to nginx.
//
// `splitbench proxy` is the gateway side: an in-process gateway serving the
// split on loopback, the admin token taken from SPLITBENCH_ADMIN_TOKEN.
// Everything listens on 127.0.0.1 only.
package main
