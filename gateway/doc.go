// Package gateway is the local serving platform (platform.type: local): an
// in-process HTTP gateway that serves models with the KServe V1 and Open
// Inference (V2) protocols, splits production traffic between a stable and a
// canary revision, serves a staging environment under /staging and measures
// every production revision (requests, errors, latency, predictions, feature
// values as DDSketches). Server is the gateway; Deployer and MetricsSource
// drive it through its /admin/ API and implement modelgate.Deployer and
// modelgate.MetricsSource. It imports only the root package modelgate; models
// come in through the Loader seam, never by importing mlmodel.
package gateway
