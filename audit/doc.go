// Package audit keeps modelgate's audit trail as an append-only, hash-chained
// JSON Lines file: each line is one modelgate.AuditEntry whose Hash covers the
// entry and the previous entry's hash, so any edit, deletion, insertion or
// reordering is found by Check. A sidecar "<path>.head" file records the last
// entry's sequence and hash, so that cutting the tail is found too.
//
// With a key (Log.Key) every Hash is an HMAC-SHA256 and the entry names the
// key by its id (KeyID, never the key), and the head is sealed too, so that
// someone who can write the files but lacks the key cannot rewrite them
// undetected. Without a key the hashes are plain SHA-256: anyone who can
// write the file can recompute them, and Check's Report says the trail is
// unkeyed. No key is the default, rather than a key generated on first use,
// because a key file kept beside the trail is readable by whoever can write
// the trail: it would look like protection without being one. A key helps
// only where its custody is apart from the trail's (a secret injected into
// the environment, a file only the service account reads), which is the
// operator's choice; docs/AUDIT.md says how. Someone holding the key can
// still rewrite everything; Log.Head gives an anchor to keep elsewhere, and
// Check with VerifyOptions.Anchors finds a rewrite that disagrees with one.
//
// It imports only the root package and the standard library. Entry points:
// Open (a *Log implementing modelgate.AuditLog; Head, RotateKey), Check and
// Verify, ParseKey and ReadKeyFile.
package audit
