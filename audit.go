package modelgate

import (
	"context"
	"time"
)

// AuditEntry is one record of the append-only, hash-chained audit trail.
type AuditEntry struct {
	Seq            int64     `json:"seq"`
	Time           time.Time `json:"time"`
	Actor          string    `json:"actor"`
	ActorSource    string    `json:"actor_source,omitempty"` // where Actor came from, e.g. "env:USER"
	Action         string    `json:"action"`                 // e.g. "promotion.start", "canary.start", "registry.transition"
	Model          string    `json:"model"`
	Version        string    `json:"version"`
	PromotionID    string    `json:"promotion_id,omitempty"`
	Outcome        string    `json:"outcome"`
	EvidenceDigest string    `json:"evidence_digest,omitempty"` // sha256 of the evidence JSON
	Detail         string    `json:"detail,omitempty"`
	PrevHash       string    `json:"prev_hash"`
	Hash           string    `json:"hash"`
}

// AuditLog appends entries to the audit trail. Writing it is mandatory: a
// failed append stops the step. Implementations: audit (JSON Lines file).
type AuditLog interface {
	// Append fills in Seq, PrevHash and Hash, writes the entry durably and
	// returns it.
	Append(ctx context.Context, e AuditEntry) (AuditEntry, error)
}
