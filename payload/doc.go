// Package payload measures production from logged payloads when modelgate
// does not serve the traffic itself (platform kserve), and joins actuals to
// predictions on either platform.
//
// Receiver is the sink of KServe's inference logger (CloudEvents, binary
// mode): it pairs request and response events by Ce-Id, tells the version
// by a pod annotation carried in Ce-Annotations, and keeps per-version
// prediction and feature distributions in the gateway's shape (package
// sketch). It counts no errors: the logger logs only successful responses,
// so error rates and latency come from Prometheus; MetricsSource merges the
// two into one modelgate.Window.
//
// Actuals keeps recent predictions by request id (Ce-Id on KServe,
// X-Request-Id on the local gateway, which records into it through its
// own small interface) and serves POST /actuals, turning actuals posted
// later into per-version modelgate.Accuracy for the current window.
//
// Request and response bodies are read with package wire (LoggedInstances,
// LoggedPredictions), the one owner of the V1 and V2 messages.
//
// It is an adapter: it imports the root package and the shared leaves sketch
// and wire, never another adapter or the policy packages (judge.JoinActuals
// is re-done incrementally here). Memory is bounded in both types; see
// their limits.
package payload
