// Command judgesim measures the sequential canary judge (judge.Sequential)
// by simulation, and modelgate's drift figures for the Evidently comparison.
//
//	judgesim [sim] [flags]   simulated canaries: false rollbacks and detection times
//	judgesim drift-data      writes the drift benchmark's data (row-major float64)
//	judgesim drift           reference profile + drift figures from that data
//
// sim runs -runs canaries per scenario (aa: identical arms; errors2x;
// p95+80ms: canary latency raised linearly from +0 at the median to +80 ms
// at p95 and above; predshift0.2sd; errors+0.25pp and errors+0.5pp: worse
// but within the playbook's margin). Each request is simulated (routing,
// error, latency, prediction) into the same 1% DDSketches the gateway keeps;
// the judges see cumulative figures at their looks, as the promotion engine
// does. Besides judge.Sequential (a look every -interval) it runs two naive
// judges on the same traffic: judge.Thresholds and a one-sided z-test on
// error rates, each looking every -naive-interval. Run i of every scenario
// uses the random stream (-seed, i), so results do not depend on -workers.
// Every setting is a flag; -o json prints JSON, -json FILE also writes it.
//
//	go run ./cmd/judgesim -runs 1000
//	go run ./cmd/judgesim -scenarios p95+80ms -relative-tolerance 100   # the p95 check alone
//	scripts/drift-bench                                                  # drift vs Evidently
package main
