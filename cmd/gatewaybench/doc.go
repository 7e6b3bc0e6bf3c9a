// Command gatewaybench measures the local serving gateway (package gateway):
// requests per second and p50/p90/p99/max latency of KServe V1 predict
// (POST /v1/models/demand-forecast:predict, one instance per request, bodies
// made from examples/demand-forecast/data/live_requests.csv) on the example
// model v2, loaded straight from examples/demand-forecast/models/v2.
//
// It starts the gateway in-process on a free 127.0.0.1 port (it sends no
// traffic anywhere else), serves v2 as stable, or with -canary v1 as stable
// and v2 as a 10% canary to show what the split costs. For each offered rate
// in -rates it sends open-loop load with gateway/loadgen's Paced (each request
// at its due time to the microsecond, latency counted from it) for
// -duration after a -warmup, then a closed loop of -closed clients sending
// back to back gives the maximum throughput. The load generator and the
// gateway share one process and the machine's CPUs; the header says how
// many. It is a command, not a timed test, so `go test` stays fast:
//
//	scripts/bench-gateway                      # 500,1000,2000,4000 req/s, 10 s each
//	scripts/bench-gateway -canary -o json
//	scripts/bench-gateway -rates 300,3000 -duration 5s -closed 0
//
// Run it from the repository root (scripts/bench-gateway does); -example
// names another copy of the example directory.
//
// `gatewaybench drill setup|stable|big|soak` runs the acceptance drills of the
// gateway's limits against a gateway started apart (modelgate serve), so its
// memory is measured alone: scripts/drill-gateway starts it under
// /usr/bin/time -v and runs them. `gatewaybench drill stable` serves v2
// alone, for a comparison of modelgate serve with cmd/trivialhandler under
// one load generator, both pinned to one core:
//
//	taskset -c 0 modelgate --config modelgate.yaml serve &
//	gatewaybench drill stable -url http://$DATA -admin http://$ADMIN -token-file .modelgate/admin-token
//	taskset -c 1 wrk -t1 -c32 -d10s -s post.lua http://$DATA/v1/models/demand-forecast:predict
package main
