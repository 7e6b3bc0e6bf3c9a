// Command trivialhandler is the benchmarks' floor for a Go model server: a
// net/http handler that decodes a KServe V1 predict body with encoding/json,
// as any Go server must, and answers one constant prediction per instance
// without evaluating anything. The gateway's per-request cost is compared with
// it (BENCHMARKS.md), and it stands in as a fast external model server when
// the gateway's and nginx's splitting proxies are measured in front of the
// same upstream.
//
//	trivialhandler -listen 127.0.0.1:9000
//
// It serves POST /v1/models/{name}:predict and GET /v1/models/{name} (ready)
// for any name, on the address given (loopback by default).
package main
