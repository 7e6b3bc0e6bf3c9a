// Package inference is a client of the KServe V1 prediction protocol and of
// the V2 Open Inference Protocol, the wires every model server modelgate
// talks to (its own gateway, KServe, or an external server) speaks. Smoke
// tests, the evaluation harness and the demo's traffic use it. The messages
// and their encoding are package wire's; this package posts them and times
// the answers.
//
// It imports only the root package, wire and the standard library.
package inference
