// Package gateway is the local serving platform (platform.type: local): an
// in-process HTTP gateway that serves models with the KServe V1 and Open
// Inference (V2) protocols, splits production traffic between a stable and a
// canary revision, serves a staging environment under /staging and measures
// every production revision (requests, errors, latency, predictions, feature
// values as DDSketches; with mirroring, the canary's answers paired with
// production's on the same rows).
//
// Server is the gateway. Serve keeps the data plane (DataHandler) and the
// /admin/ API (AdminHandler, behind a bearer token) on separate listeners;
// Deployer and MetricsSource (NewDeployerFor, NewMetricsSourceFor) drive the
// admin API and implement modelgate.Deployer, modelgate.RequestSampler and
// modelgate.MetricsSource. The gateway serves a model directory only once its
// digest matches the one the caller named, and keeps the split with its
// measurements in Options.StatePath so a restart neither resets a canary
// window nor reports fewer observations than it already reported.
//
// The data plane holds up under abuse: bounded bodies, instances per request
// (decided while the body streams in) and predictions in flight, a request
// timeout, work stopped between batches when the client goes away, and
// strict input types (a boolean or null for a numeric feature only where
// the model's signature declares it).
//
// A V1 prediction's own cost is kept small next to net/http's
// (BenchmarkPredictV1; a wrk comparison with cmd/trivialhandler is set up
// with `gatewaybench drill stable`): a body declaring at most 256 KiB is read into a
// pooled buffer and scanned by hand into the values encoding/json would
// give, and anything the scanner is not sure of (every refusal among them)
// is decoded by the streaming decoder as before, so limits, errors and
// strict types are unchanged (v1scan.go; differential and fuzz tests).
// The V1 answer and the instances kept for /recent are encoded directly,
// byte for byte as encoding/json writes them (encode.go), into pooled
// buffers; the per-request path takes no closure, fmt or hash allocation,
// and no timer for a native model's request timeout (deadlineContext);
// the Date header is formatted once a second (date.go). A serving process
// runs the garbage collector at GCPercent (gc.go).
//
// It imports the root package modelgate and the shared leaves sketch, wire
// and mlmodelfile (to read a model's declared input types); models come in
// through the Loader seam, never by importing mlmodel. A revision can also be an external model server
// (StartUpstream: a URL or a command started on a port the gateway chooses,
// speaking V1 or V2), proxied and measured like a native model. A
// request in the upstream's protocol is forwarded as the client sent it (a
// V1 answer also comes back unchanged); predictions go over the
// gateway's own pool of kept-alive HTTP/1.1 connections (connPool: written
// and read on the request's goroutine; the plain answer, HTTP/1.1 with one
// Content-Length, read by quickAnswer, anything else by net/http's
// ReadResponse), because net/http's Transport hands each request between
// three goroutines, which cost about 40% more CPU per proxied request
// (scripts/bench-split). A passed-through V1 body is split into its
// instances, and the upstream's V1 answer read, by the same scanner
// (rawscan.go), encoding/json taking whatever it is not sure of. Those connections, and the data plane's client
// connections (Serve), are read and written with raw system calls
// (rawConn, Linux): the standard calls' syscall-state bookkeeping woke the
// runtime's monitor thread about twice a request on a one-core gateway.
//
// Serve's data plane answers plain HTTP/1.1 requests with small bodies
// itself (h1Server: one goroutine per connection, no background read, the
// answer written in one call) and hands a connection to net/http at the
// first request that is not plain, so every unusual request still gets
// net/http's own handling; parseHead is checked against http.ReadRequest
// (FuzzParseHead) and whole exchanges against a net/http server. That took
// a third off a one-instance request's CPU (BENCHMARKS.md).
//
// Options.BusyPoll (off by default; Linux) keeps Serve's thread polling
// the network for a while after each event instead of sleeping in the
// kernel (busyPoller, busypoll_linux.go). Each sleep of a proxy costs the
// core that wakes it an interrupt (in a virtual machine, an exit to the
// hypervisor); on the benchmark's rig that is what nginx's edge over the
// sleeping gateway came from. Polling spends the gateway's idle CPU, a
// whole core while traffic flows, so it is for a gateway given its own
// core.
package gateway
