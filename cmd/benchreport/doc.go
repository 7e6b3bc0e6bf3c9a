// Command benchreport is the Go half of scripts/benchmarks, which compares
// modelgate's serving gateway with Python model servers, a trivial Go
// handler and nginx, each pinned to one core. The script starts and stops
// the servers; this command does what needs more than shell:
//
//	benchreport bodies  -example DIR -out DIR     request bodies of every protocol, same rows
//	benchreport check   -url U -proto P -bodies F -expected F   one answer equals LightGBM's
//	benchreport deploy  -url U -admin A -token-file F -example DIR   v2 stable on `modelgate serve`
//	benchreport closed  -server S -body B -pid P -url U -bodies F ...  wrk saturation + CPU/request
//	benchreport open    -server S -body B -url U -bodies F -rates R,...   open-loop p50/p99
//	benchreport mem     -server S -pid P -out F    peak RSS of the server's process tree
//	benchreport table   -in F                      the Markdown tables and ratios
//
// closed runs wrk (the same load generator for every server, one body per
// request cycling through a file of bodies) and reads the server's CPU time
// from /proc before and after; open uses package gateway/loadgen, so every
// server sees the same fixed-rate open-loop driver. Results are JSON lines
// appended to -out; table turns them into BENCHMARKS.md's tables.
package main
