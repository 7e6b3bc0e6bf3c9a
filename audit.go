package modelgate

import (
	"context"
	"time"
)

// AuditEntry is one record of the append-only, hash-chained audit trail.
type AuditEntry struct {
	Seq   int64     `json:"seq"`
	Time  time.Time `json:"time"`
	Actor string    `json:"actor"`
	// ActorSource says where Actor came from, e.g. "env:MODELGATE_ACTOR",
	// "env:USER", "os:user" or "token:<name>"; empty when the caller did not
	// say. It is covered by the hash like every other field.
	ActorSource    string `json:"actor_source,omitempty"`
	Action         string `json:"action"` // e.g. "promotion.start", "canary.start", "registry.transition"
	Model          string `json:"model"`
	Version        string `json:"version"`
	PromotionID    string `json:"promotion_id,omitempty"`
	Outcome        string `json:"outcome"`
	EvidenceDigest string `json:"evidence_digest,omitempty"` // sha256 of the evidence JSON
	Detail         string `json:"detail,omitempty"`
	// MAC names how Hash was computed: "hmac-sha256" under the key KeyID
	// names, or empty for a plain SHA-256 (an unkeyed trail). KeyID is the hex
	// of the first 8 bytes of the key's SHA-256, never the key. NextKeyID is
	// set only on the entry that rotates the key: the entries after it are
	// sealed with that key. The log fills in all three.
	MAC       string `json:"mac,omitempty"`
	KeyID     string `json:"key_id,omitempty"`
	NextKeyID string `json:"next_key_id,omitempty"`
	PrevHash  string `json:"prev_hash"`
	Hash      string `json:"hash"`
}

// AuditReader reads the entries of one promotion back, oldest first, for
// timelines. Implementations: audit, postgres.
type AuditReader interface {
	Entries(ctx context.Context, promotionID string) ([]AuditEntry, error)
}

// AuditLog appends entries to the audit trail. Writing it is mandatory: a
// failed append stops the step. Implementations: audit (JSON Lines file),
// postgres (a table with the same chain and sealing).
type AuditLog interface {
	// Append fills in Seq, PrevHash, the sealing fields and Hash, writes the
	// entry durably and returns it.
	Append(ctx context.Context, e AuditEntry) (AuditEntry, error)
}
