package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sync"

	"github.com/jackc/pgx/v5"

	"github.com/modelgate/modelgate"
)

// The trail's hash rules are the root's (modelgate.AuditDigest,
// AuditHeadSeal, AuditKeyID), shared with the audit package, so an exported
// trail passes `modelgate audit verify`; the tests check an export with the
// audit package itself.
const (
	genesis = "0000000000000000000000000000000000000000000000000000000000000000"

	// RotationAction is the Action of the entry RotateKey appends.
	RotationAction = "audit.key_rotation"
	// MinKeyLen is the shortest key RotateKey accepts, in bytes.
	MinKeyLen = 16
)

// auditLock is the advisory lock key serialising appends across processes,
// as the audit package's file lock does. "mgaud" in ASCII.
const auditLock = 0x6d67617564

// AuditLog keeps the audit trail in PostgreSQL with the audit package's
// semantics: each entry's Hash covers the entry and the previous hash
// (HMAC-SHA256 under Key, else SHA-256), and a sealed head records the last
// entry. Appends from several processes are serialised by an advisory lock
// and the sequence's primary key, so the chain never forks.
type AuditLog struct {
	// Key seals new entries with HMAC-SHA256 (at least 16 bytes); nil seals
	// them with plain SHA-256, an unkeyed trail. Set it before the first
	// Append; RotateKey changes it. Append refuses a key that does not
	// continue the trail (a keyed trail with no key, or another key without
	// a rotation).
	Key []byte

	db *DB
	mu sync.Mutex
}

var (
	_ modelgate.AuditLog    = (*AuditLog)(nil)
	_ modelgate.AuditReader = (*AuditLog)(nil)
)

// NewAuditLog returns the audit trail in db, which must be open before use.
func NewAuditLog(db *DB) *AuditLog { return &AuditLog{db: db} }

// Append chains e onto the trail, seals it and commits it (with the head)
// before returning. Seq, PrevHash, MAC, KeyID, NextKeyID and Hash are the
// log's to fill in; a zero Time is stamped with the DB's clock.
func (l *AuditLog) Append(ctx context.Context, e modelgate.AuditEntry) (modelgate.AuditEntry, error) {
	e.NextKeyID = ""
	return l.append(ctx, e, nil)
}

// RotateKey appends e (Action RotationAction and Outcome "ok" unless set)
// sealed with the current key and naming newKey's id in NextKeyID, then
// seals every later entry with newKey, as the audit package's Log does. The
// trail must be keyed already: to key an unkeyed trail, just set Key.
func (l *AuditLog) RotateKey(ctx context.Context, e modelgate.AuditEntry, newKey []byte) (modelgate.AuditEntry, error) {
	switch {
	case len(l.Key) == 0:
		return e, modelgate.Errorf(modelgate.EINVALID, "audit trail: no key is configured, so there is nothing to rotate").
			WithHint("configure the key instead; the unkeyed entries before it stay as they are")
	case len(newKey) < MinKeyLen:
		return e, modelgate.Errorf(modelgate.EINVALID, "the new audit key has %d bytes; at least %d are needed", len(newKey), MinKeyLen)
	case modelgate.AuditKeyID(newKey) == modelgate.AuditKeyID(l.Key):
		return e, modelgate.Errorf(modelgate.EINVALID, "the new audit key is the current one (%s)", modelgate.AuditKeyID(newKey))
	}
	if e.Action == "" {
		e.Action = RotationAction
	}
	if e.Outcome == "" {
		e.Outcome = "ok"
	}
	e.NextKeyID = modelgate.AuditKeyID(newKey)
	return l.append(ctx, e, newKey)
}

// append writes e and, once it is committed and when next is set, switches
// l.Key to next. The mutex keeps this process's appends and key changes in
// order; the advisory lock does the same across processes.
func (l *AuditLog) append(ctx context.Context, e modelgate.AuditEntry, next []byte) (modelgate.AuditEntry, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	err := l.db.update(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(auditLock)); err != nil {
			return err
		}
		last, err := lastAuditEntry(ctx, tx)
		if err != nil {
			return err
		}
		if err := l.follows(last); err != nil {
			return err
		}
		if e, err = l.seal(e, last); err != nil {
			return err
		}
		return insertAuditEntry(ctx, tx, e, l.Key)
	})
	if err != nil {
		return e, translate("append to the audit trail", err)
	}
	if next != nil {
		l.Key = next
	}
	return e, nil
}

// seal fills in the chain and sealing fields of e, the entry after last.
func (l *AuditLog) seal(e modelgate.AuditEntry, last modelgate.AuditEntry) (modelgate.AuditEntry, error) {
	if e.Time.IsZero() {
		e.Time = l.db.Now()
	}
	e.Time = e.Time.UTC()
	e.Seq, e.PrevHash = last.Seq+1, last.Hash
	e.MAC, e.KeyID = "", ""
	if len(l.Key) > 0 {
		e.MAC, e.KeyID = modelgate.AuditHMACSHA256, modelgate.AuditKeyID(l.Key)
	}
	var err error
	e.Hash, err = modelgate.AuditDigest(e, l.Key)
	return e, err
}

// Head returns the sequence and hash of the trail's last entry, an anchor to
// keep where the trail's writers cannot change it; 0 and "" for an empty
// trail. Like the audit package's Head it checks that entry's own hash
// (under l.Key on a keyed trail), not the rest of the trail.
func (l *AuditLog) Head(ctx context.Context) (int64, string, error) {
	var last modelgate.AuditEntry
	err := l.db.view(ctx, func(tx pgx.Tx) error {
		var err error
		last, err = lastAuditEntry(ctx, tx)
		return err
	})
	if err != nil || last.Seq == 0 {
		return 0, "", translate("read the audit trail's head", err)
	}
	mine := ""
	if len(l.Key) > 0 {
		mine = modelgate.AuditKeyID(l.Key)
	}
	switch {
	case last.MAC != "" && last.KeyID != mine && last.NextKeyID == mine:
		// The rotation to our key, sealed with the previous one.
	case last.MAC != "" && last.KeyID != mine:
		return 0, "", modelgate.Errorf(modelgate.EINVALID, "audit trail: the last entry is sealed with key %s, not with the configured key", last.KeyID)
	default:
		if h, err := modelgate.AuditDigest(last, l.Key); err != nil || h != last.Hash {
			return 0, "", modelgate.Errorf(modelgate.EINVALID, "audit trail: the last entry's hash does not match its content")
		}
	}
	return last.Seq, last.Hash, nil
}

// follows checks that an entry sealed with l.Key may come after last (the
// audit package's rule: the trail's key, or the key a rotation named).
func (l *AuditLog) follows(last modelgate.AuditEntry) error {
	mine := "none"
	if len(l.Key) > 0 {
		mine = modelgate.AuditKeyID(l.Key)
	}
	switch {
	case last.NextKeyID != "" && mine != last.NextKeyID:
		return modelgate.Errorf(modelgate.EINVALID, "audit trail: entry %d rotated the key to %s, but the configured key is %s", last.Seq, last.NextKeyID, mine).
			WithHint("configure the key %s", last.NextKeyID)
	case last.NextKeyID != "", last.MAC == "", mine == last.KeyID:
		return nil
	case len(l.Key) == 0:
		return modelgate.Errorf(modelgate.EINVALID, "audit trail is sealed with key %s but no key is configured: an unkeyed entry would break it", last.KeyID).
			WithHint("configure the key that sealed it")
	}
	return modelgate.Errorf(modelgate.EINVALID, "audit trail is sealed with key %s, not with the configured key %s", last.KeyID, mine).
		WithHint("configure key %s", last.KeyID)
}

func lastAuditEntry(ctx context.Context, tx pgx.Tx) (modelgate.AuditEntry, error) {
	var line string
	err := tx.QueryRow(ctx, `SELECT line FROM audit_entries ORDER BY seq DESC LIMIT 1`).Scan(&line)
	if isNoRows(err) {
		return modelgate.AuditEntry{Hash: genesis}, nil
	} else if err != nil {
		return modelgate.AuditEntry{}, err
	}
	var e modelgate.AuditEntry
	if err := json.Unmarshal([]byte(line), &e); err != nil {
		return e, modelgate.Errorf(modelgate.EINTERNAL, "audit trail: the last entry is not valid: %v", err)
	}
	return e, nil
}

// insertAuditEntry stores e's canonical line and moves the head to it.
func insertAuditEntry(ctx context.Context, tx pgx.Tx, e modelgate.AuditEntry, key []byte) error {
	line, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("encode audit entry: %w", err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO audit_entries (seq, promotion_id, line) VALUES ($1, $2, $3)`,
		e.Seq, e.PromotionID, string(line)); err != nil {
		return err
	}
	var kid, seal string
	if len(key) > 0 {
		kid, seal = modelgate.AuditKeyID(key), modelgate.AuditHeadSeal(key, e.Seq, e.Hash)
	}
	_, err = tx.Exec(ctx, `INSERT INTO audit_head (id, seq, hash, key_id, seal) VALUES (TRUE, $1, $2, $3, $4)
		ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash, key_id = excluded.key_id, seal = excluded.seal`,
		e.Seq, e.Hash, kid, seal)
	return err
}

// Entries returns one promotion's entries, oldest first.
func (l *AuditLog) Entries(ctx context.Context, promotionID string) ([]modelgate.AuditEntry, error) {
	var entries []modelgate.AuditEntry
	err := l.db.view(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT line FROM audit_entries WHERE promotion_id = $1 ORDER BY seq`, promotionID)
		if err != nil {
			return err
		}
		entries, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (modelgate.AuditEntry, error) {
			var line string
			var e modelgate.AuditEntry
			if err := row.Scan(&line); err != nil {
				return e, err
			}
			return e, json.Unmarshal([]byte(line), &e)
		})
		return err
	})
	return entries, translate("read the audit entries of promotion "+promotionID, err)
}

// Export writes the whole trail as the audit package's JSON Lines to trail
// and its head sidecar to head, from one snapshot, so that the audit
// package's Check (`modelgate audit verify`) verifies it.
func (l *AuditLog) Export(ctx context.Context, trail, head io.Writer) error {
	err := l.db.view(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT line FROM audit_entries ORDER BY seq`)
		if err != nil {
			return err
		}
		lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		for _, line := range lines {
			if _, err := io.WriteString(trail, line+"\n"); err != nil {
				return fmt.Errorf("write the trail: %w", err)
			}
		}
		return exportHead(ctx, tx, head)
	})
	return translate("export the audit trail", err)
}

func exportHead(ctx context.Context, tx pgx.Tx, w io.Writer) error {
	var h struct {
		Seq   int64  `json:"seq"`
		Hash  string `json:"hash"`
		KeyID string `json:"key_id,omitempty"`
		Seal  string `json:"seal,omitempty"`
	}
	err := tx.QueryRow(ctx, `SELECT seq, hash, key_id, seal FROM audit_head`).Scan(&h.Seq, &h.Hash, &h.KeyID, &h.Seal)
	if isNoRows(err) {
		return nil // an empty trail has no head
	} else if err != nil {
		return err
	}
	b, _ := json.Marshal(h)
	if _, err := w.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("write the head: %w", err)
	}
	return nil
}
