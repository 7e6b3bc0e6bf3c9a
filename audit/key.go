package audit

import (
	"bytes"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/modelgate/modelgate"
)

// HMACSHA256 is the AuditEntry.MAC of an entry sealed with a key.
const HMACSHA256 = modelgate.AuditHMACSHA256

// MinKeyLen is the shortest key accepted, in bytes.
const MinKeyLen = 16

// KeyID names a key in the trail without revealing it: the hex of the first 8
// bytes of its SHA-256.
func KeyID(key []byte) string { return modelgate.AuditKeyID(key) }

// ParseKey returns the key held in b, without surrounding white space, so
// that `openssl rand -hex 32 > key` gives a usable key file. Every byte that
// remains is key material.
func ParseKey(b []byte) ([]byte, error) {
	k := bytes.TrimSpace(b)
	if len(k) < MinKeyLen {
		return nil, modelgate.Errorf(modelgate.EINVALID, "the audit key has %d bytes; at least %d are needed", len(k), MinKeyLen).
			WithHint("make one with `openssl rand -hex 32`")
	}
	return k, nil
}

// ReadKeyFile reads and parses a key file.
func ReadKeyFile(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, modelgate.Errorf(modelgate.EINVALID, "cannot read the audit key: %v", err)
	}
	k, err := ParseKey(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}

// digest is the trail's entry hash (modelgate.AuditDigest).
func digest(e modelgate.AuditEntry, key []byte) (string, error) { return modelgate.AuditDigest(e, key) }

// headSeal seals the head sidecar (modelgate.AuditHeadSeal).
func headSeal(key []byte, seq int64, hash string) string {
	return modelgate.AuditHeadSeal(key, seq, hash)
}

// keyring maps key ids to keys.
type keyring map[string][]byte

// newKeyring skips empty keys, so a caller may pass a key it did not find.
func newKeyring(keys [][]byte) keyring {
	r := keyring{}
	for _, k := range keys {
		if len(k) > 0 {
			r[KeyID(k)] = k
		}
	}
	return r
}

// ids lists the ring's key ids for messages.
func (r keyring) ids() string {
	return strings.Join(slices.Sorted(maps.Keys(r)), ", ")
}
