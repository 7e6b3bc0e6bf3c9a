package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/modelgate/modelgate"
)

// genesis is the PrevHash of the first entry.
const genesis = "0000000000000000000000000000000000000000000000000000000000000000"

// RotationAction is the Action of the entry RotateKey appends.
const RotationAction = "audit.key_rotation"

// Log appends entries to a JSON Lines file. It is safe for concurrent use in
// one process, and an exclusive file lock serialises writers across
// processes.
type Log struct {
	Path string
	Now  func() time.Time // stamps entries whose Time is zero; default time.Now

	// Key seals new entries with HMAC-SHA256; see ParseKey for its form. Nil
	// seals them with plain SHA-256: an unkeyed trail, which whoever can
	// write the file can rewrite undetected. Set it before the first Append;
	// RotateKey changes it. Append refuses a key that does not continue the
	// trail (a keyed trail with no key, or another key without a rotation).
	Key []byte

	mu sync.Mutex
}

var _ modelgate.AuditLog = (*Log)(nil)

// Open returns a Log writing to path, creating the directory if needed.
func Open(path string) (*Log, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("create audit directory: %w", err)
	}
	return &Log{Path: path, Now: time.Now}, nil
}

// Append chains e onto the trail, seals it with l.Key (or plain SHA-256 when
// there is none) and writes it durably (fsync) before returning, because the
// audit trail is mandatory evidence. Seq, PrevHash, MAC, KeyID, NextKeyID and
// Hash are the log's to fill in.
func (l *Log) Append(ctx context.Context, e modelgate.AuditEntry) (modelgate.AuditEntry, error) {
	e.NextKeyID = ""
	return l.append(e, nil)
}

// RotateKey appends e (Action RotationAction and Outcome "ok" unless set)
// sealed with the current key and naming newKey's id in NextKeyID, then
// seals every later entry with newKey. Verify accepts a change of key only
// right after such an entry, so a retired key cannot extend the trail. The
// trail must be keyed already: to key an unkeyed trail, just set Key.
func (l *Log) RotateKey(ctx context.Context, e modelgate.AuditEntry, newKey []byte) (modelgate.AuditEntry, error) {
	if len(l.Key) == 0 {
		return e, modelgate.Errorf(modelgate.EINVALID, "audit trail %s: no key is configured, so there is nothing to rotate", l.Path).
			WithHint("configure the key instead; the unkeyed entries before it stay as they are")
	}
	if len(newKey) < MinKeyLen {
		return e, modelgate.Errorf(modelgate.EINVALID, "the new audit key has %d bytes; at least %d are needed", len(newKey), MinKeyLen)
	}
	if KeyID(newKey) == KeyID(l.Key) {
		return e, modelgate.Errorf(modelgate.EINVALID, "the new audit key is the current one (%s)", KeyID(newKey))
	}
	if e.Action == "" {
		e.Action = RotationAction
	}
	if e.Outcome == "" {
		e.Outcome = "ok"
	}
	e.NextKeyID = KeyID(newKey)
	return l.append(e, newKey)
}

// append writes e and, when next is set, switches l.Key to it.
func (l *Log) append(e modelgate.AuditEntry, next []byte) (modelgate.AuditEntry, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	f, err := openLocked(l.Path, os.O_RDWR|os.O_CREATE|os.O_APPEND, syscall.LOCK_EX)
	if err != nil {
		return e, err
	}
	defer f.Close() // releases the lock
	last, err := lastEntry(l.Path)
	if err != nil {
		return e, err
	}
	if err := l.follows(last); err != nil {
		return e, err
	}
	if e.Time.IsZero() {
		e.Time = l.Now()
	}
	e.Time = e.Time.UTC()
	e.Seq, e.PrevHash = last.Seq+1, last.Hash
	e.MAC, e.KeyID = "", ""
	if len(l.Key) > 0 {
		e.MAC, e.KeyID = HMACSHA256, KeyID(l.Key)
	}
	if e.Hash, err = digest(e, l.Key); err != nil {
		return e, err
	}
	line, err := json.Marshal(e)
	if err != nil {
		return e, fmt.Errorf("encode audit entry: %w", err)
	}
	if _, err := f.Write(append(line, '\n')); err != nil {
		return e, fmt.Errorf("write audit trail: %w", err)
	}
	if err := f.Sync(); err != nil {
		return e, fmt.Errorf("sync audit trail: %w", err)
	}
	err = writeHead(l.Path, e, l.Key)
	if next != nil {
		l.Key = next
	}
	return e, err
}

// follows checks that an entry sealed with l.Key may come after last.
func (l *Log) follows(last modelgate.AuditEntry) error {
	mine := "none"
	if len(l.Key) > 0 {
		mine = KeyID(l.Key)
	}
	switch {
	case last.NextKeyID != "" && mine != last.NextKeyID:
		return modelgate.Errorf(modelgate.EINVALID, "audit trail %s: entry %d rotated the key to %s, but the configured key is %s", l.Path, last.Seq, last.NextKeyID, mine).
			WithHint("configure the key %s", last.NextKeyID)
	case last.NextKeyID != "", last.MAC == "", mine == last.KeyID:
		return nil
	case len(l.Key) == 0:
		return modelgate.Errorf(modelgate.EINVALID, "audit trail %s is sealed with key %s but no key is configured: an unkeyed entry would break it", l.Path, last.KeyID).
			WithHint("configure the key that sealed it")
	}
	return modelgate.Errorf(modelgate.EINVALID, "audit trail %s is sealed with key %s, not with the configured key %s", l.Path, last.KeyID, mine).
		WithHint("configure key %s, or rotate to the new key with `modelgate audit rotate-key`", last.KeyID)
}

// Head returns the sequence and hash of the trail's last entry, to be kept
// somewhere the trail's writers cannot change (a registry tag, a report) and
// given back to Verify as an Anchor. An empty or missing trail gives 0 and
// "". Head checks the last entry's own hash (under l.Key when it is keyed)
// so that it does not hand out a forged entry as an anchor; it does not
// check the rest of the trail: Verify does.
func (l *Log) Head(ctx context.Context) (seq int64, hash string, err error) {
	f, err := openLocked(l.Path, os.O_RDONLY, syscall.LOCK_SH)
	if errors.Is(err, os.ErrNotExist) {
		return 0, "", nil
	}
	if err != nil {
		return 0, "", err
	}
	defer f.Close()
	last, err := lastEntry(l.Path)
	if err != nil || last.Seq == 0 {
		return 0, "", err
	}
	mine := KeyID(l.Key)
	switch {
	case last.MAC != "" && last.KeyID != mine && last.NextKeyID == mine:
		// The rotation to our key, sealed with the previous one: Verify
		// checks it with that key.
	case last.MAC != "" && last.KeyID != mine:
		return 0, "", modelgate.Errorf(modelgate.EINVALID, "audit trail %s: the last entry is sealed with key %s, not with the configured key", l.Path, last.KeyID)
	default:
		if h, err := digest(last, l.Key); err != nil || h != last.Hash {
			return 0, "", modelgate.Errorf(modelgate.EINVALID, "audit trail %s: the last entry's hash does not match its content", l.Path).
				WithHint("run `modelgate audit verify %s`", l.Path)
		}
	}
	return last.Seq, last.Hash, nil
}

// openLocked opens the trail and takes a file lock on it; closing the file
// releases the lock.
func openLocked(path string, flag, how int) (*os.File, error) {
	f, err := os.OpenFile(path, flag, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open audit trail: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), how); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock audit trail: %w", err)
	}
	return f, nil
}

// lastEntry returns the file's last entry (Seq 0 and the genesis hash when
// there is none), trusting the file itself rather than the head (the head
// may lag after a crash between the two writes).
func lastEntry(path string) (modelgate.AuditEntry, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return modelgate.AuditEntry{}, fmt.Errorf("read audit trail: %w", err)
	}
	lines := bytes.Split(bytes.TrimRight(data, "\n"), []byte("\n"))
	last := lines[len(lines)-1]
	if len(last) == 0 {
		return modelgate.AuditEntry{Hash: genesis}, nil
	}
	var e modelgate.AuditEntry
	if err := json.Unmarshal(last, &e); err != nil {
		return e, modelgate.Errorf(modelgate.EINTERNAL, "audit trail %s: last line is not a valid entry: %v", path, err).
			WithHint("run `modelgate audit verify %s`", path)
	}
	return e, nil
}

// head is the "<path>.head" sidecar. On a keyed trail it is sealed with the
// key of the entry it names, so that someone without the key cannot cut the
// tail and move the head back.
type head struct {
	Seq   int64  `json:"seq"`
	Hash  string `json:"hash"`
	KeyID string `json:"key_id,omitempty"`
	Seal  string `json:"seal,omitempty"`
}

func writeHead(path string, e modelgate.AuditEntry, key []byte) error {
	h := head{Seq: e.Seq, Hash: e.Hash}
	if len(key) > 0 {
		h.KeyID, h.Seal = KeyID(key), headSeal(key, e.Seq, e.Hash)
	}
	b, _ := json.Marshal(h)
	tmp := path + ".head.tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write audit head: %w", err)
	}
	if err := os.Rename(tmp, path+".head"); err != nil {
		return fmt.Errorf("write audit head: %w", err)
	}
	return nil
}
