// Package wire owns the messages of the two data-plane protocols that every
// model server modelgate talks to speaks: KServe's V1 prediction protocol and
// the V2 Open Inference Protocol. It holds their request and response types,
// the V2 datatypes, and the conversions between request instances (arrays of
// feature values or objects of raw fields) and V2 tensors, both ways:
//
//   - servers (the gateway) read requests with V1Request.InstancesOrInputs
//     and Instances and answer with V1Response, V2Response, V2Metadata;
//   - clients (package inference, the gateway's upstreams) send
//     TensorsFromInstances and read answers with DecodeV1Predictions and
//     DecodeV2Response;
//   - observers of logged traffic (the payload receiver) read either
//     protocol's bodies with LoggedInstances and LoggedPredictions, which
//     are lenient where a server is strict.
//
// It is a shared leaf, like sketch: it does no I/O and imports only the root
// package (for *modelgate.Error) and the standard library, so adapters and
// policy packages may import it. It is not part of inference because that is
// an HTTP client; the server side and the payload receiver need the
// messages, not the client.
package wire
