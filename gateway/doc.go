// Package gateway is the local serving platform (platform.type: local): an
// in-process HTTP gateway that serves models with the KServe V1 and Open
// Inference (V2) protocols, splits production traffic between a stable and a
// canary revision, serves a staging environment under /staging and measures
// every production revision (requests, errors, latency, predictions, feature
// values as DDSketches). A share of the stable revision's requests can be
// mirrored to the canary after production has answered, bounded and never
// queued, for pairs of both answers on the same rows (modelgate.Paired).
// The latest production instances of each model are kept in memory for
// staging to score (Deployer.RecentRequests, modelgate.RequestSampler).
// Before serving a model directory the gateway recomputes its digest
// (modelgate.DirDigest) and refuses a change whose digest is not the one
// named, so it serves exactly the bytes the engine verified; every admin
// change is logged. The split and its measurements (counts, sketches,
// pairs) are saved in Options.StatePath every few seconds, before every
// /observe answer and at Close, and restored at Open with the window's
// start, so a restart neither resets a canary window nor reports fewer
// observations than were already reported (Status.Restored says it
// happened). Server is the gateway; Deployer and MetricsSource
// drive it through its /admin/ API and implement modelgate.Deployer and
// modelgate.MetricsSource. It imports the root package modelgate and the
// shared leaves sketch and wire (the V1 and V2 messages, read and written
// there); models come in through the Loader seam, never by importing
// mlmodel. A revision can also be an external model server (StartUpstream:
// an upstream URL or a command started on a port the gateway chooses,
// speaking V1 or V2), loaded through Options.DeploymentLoader, proxied and
// measured like a native model.
package gateway
