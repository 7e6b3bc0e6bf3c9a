// Package audit keeps modelgate's audit trail as an append-only, hash-chained
// JSON Lines file: each line is one modelgate.AuditEntry whose Hash covers the
// entry and the previous entry's hash, so any edit, deletion, insertion or
// reordering is found by Verify. A sidecar "<path>.head" file records the last
// entry's sequence and hash, so that truncating the tail is found too.
//
// It imports only the root package and the standard library. Entry points:
// Open (a *Log implementing modelgate.AuditLog) and Verify.
package audit
