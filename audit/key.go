package audit

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/modelgate/modelgate"
)

// HMACSHA256 is the AuditEntry.MAC of an entry sealed with a key.
const HMACSHA256 = "hmac-sha256"

// MinKeyLen is the shortest key accepted, in bytes.
const MinKeyLen = 16

// KeyID names a key in the trail without revealing it: the hex of the first 8
// bytes of its SHA-256.
func KeyID(key []byte) string {
	sum := sha256.Sum256(key)
	return hex.EncodeToString(sum[:8])
}

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

// digest returns e's hash: the canonical JSON of e with an empty Hash, under
// HMAC-SHA256 with key when e.MAC says so, else plain SHA-256. The JSON holds
// PrevHash, so the hash covers the link to the previous entry too.
func digest(e modelgate.AuditEntry, key []byte) (string, error) {
	e.Hash = ""
	body, err := json.Marshal(e)
	if err != nil {
		return "", fmt.Errorf("encode audit entry: %w", err)
	}
	if e.MAC == HMACSHA256 {
		return mac(key, body), nil
	}
	sum := sha256.Sum256(body)
	return hex.EncodeToString(sum[:]), nil
}

func mac(key, body []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// headSeal seals the head sidecar, so that someone without the key cannot
// move the head back after cutting the tail. The prefix keeps it apart from
// entry hashes, which are over JSON objects.
func headSeal(key []byte, seq int64, hash string) string {
	return mac(key, []byte("modelgate audit head\n"+strconv.FormatInt(seq, 10)+"\n"+hash))
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
