package modelgate

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
)

// The audit trail's hash rules, shared by every AuditLog (the file and
// PostgreSQL) and by the checker, so a trail written by one verifies by the
// same rules as the other's.

// AuditHMACSHA256 marks an entry hashed under a key (AuditEntry.MAC).
const AuditHMACSHA256 = "hmac-sha256"

// AuditDigest returns e's hash: the canonical JSON of e with an empty Hash,
// under HMAC-SHA256 with key when e.MAC says so, else plain SHA-256. The
// JSON holds PrevHash, so the hash covers the link to the previous entry
// too.
func AuditDigest(e AuditEntry, key []byte) (string, error) {
	e.Hash = ""
	body, err := json.Marshal(e)
	if err != nil {
		return "", fmt.Errorf("encode audit entry: %w", err)
	}
	if e.MAC == AuditHMACSHA256 {
		return auditMAC(key, body), nil
	}
	sum := sha256.Sum256(body)
	return hex.EncodeToString(sum[:]), nil
}

// AuditHeadSeal seals the trail's head (its last sequence number and
// hash), so that someone without the key cannot move the head back after
// cutting the tail. The prefix keeps it apart from entry hashes, which are
// over JSON objects.
func AuditHeadSeal(key []byte, seq int64, hash string) string {
	return auditMAC(key, []byte("modelgate audit head\n"+strconv.FormatInt(seq, 10)+"\n"+hash))
}

// AuditKeyID names an audit key without revealing it.
func AuditKeyID(key []byte) string {
	sum := sha256.Sum256(key)
	return hex.EncodeToString(sum[:8])
}

func auditMAC(key, body []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}
