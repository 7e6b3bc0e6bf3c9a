package audit

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
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

// Log appends entries to a JSON Lines file. It is safe for concurrent use in
// one process, and an exclusive file lock serialises writers across
// processes.
type Log struct {
	Path string
	Now  func() time.Time // stamps entries whose Time is zero; default time.Now

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

// Append chains e onto the trail and writes it durably (fsync) before
// returning, because the audit trail is mandatory evidence.
func (l *Log) Append(ctx context.Context, e modelgate.AuditEntry) (modelgate.AuditEntry, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	f, err := os.OpenFile(l.Path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return e, fmt.Errorf("open audit trail: %w", err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		return e, fmt.Errorf("lock audit trail: %w", err)
	}
	defer syscall.Flock(int(f.Fd()), syscall.LOCK_UN)

	seq, prev, err := lastEntry(l.Path)
	if err != nil {
		return e, err
	}
	if e.Time.IsZero() {
		e.Time = l.Now()
	}
	e.Time = e.Time.UTC()
	e.Seq, e.PrevHash = seq+1, prev
	line, err := seal(&e)
	if err != nil {
		return e, err
	}
	if _, err := f.Write(append(line, '\n')); err != nil {
		return e, fmt.Errorf("write audit trail: %w", err)
	}
	if err := f.Sync(); err != nil {
		return e, fmt.Errorf("sync audit trail: %w", err)
	}
	return e, writeHead(l.Path, e)
}

// seal computes e.Hash and returns the entry's canonical line.
func seal(e *modelgate.AuditEntry) ([]byte, error) {
	e.Hash = ""
	body, err := json.Marshal(e)
	if err != nil {
		return nil, fmt.Errorf("encode audit entry: %w", err)
	}
	sum := sha256.Sum256(body)
	e.Hash = hex.EncodeToString(sum[:])
	return json.Marshal(e)
}

// lastEntry returns the sequence and hash of the file's last entry, trusting
// the file itself rather than the head (the head may lag after a crash
// between the two writes).
func lastEntry(path string) (int64, string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, "", fmt.Errorf("read audit trail: %w", err)
	}
	lines := bytes.Split(bytes.TrimRight(data, "\n"), []byte("\n"))
	last := lines[len(lines)-1]
	if len(last) == 0 {
		return 0, genesis, nil
	}
	var e modelgate.AuditEntry
	if err := json.Unmarshal(last, &e); err != nil {
		return 0, "", modelgate.Errorf(modelgate.EINTERNAL, "audit trail %s: last line is not a valid entry: %v", path, err).
			WithHint("run `modelgate audit verify %s`", path)
	}
	return e.Seq, e.Hash, nil
}

type head struct {
	Seq  int64  `json:"seq"`
	Hash string `json:"hash"`
}

func writeHead(path string, e modelgate.AuditEntry) error {
	b, _ := json.Marshal(head{Seq: e.Seq, Hash: e.Hash})
	tmp := path + ".head.tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write audit head: %w", err)
	}
	if err := os.Rename(tmp, path+".head"); err != nil {
		return fmt.Errorf("write audit head: %w", err)
	}
	return nil
}

// Problem describes the first bad entry Verify found.
type Problem struct {
	Line   int    `json:"line"` // 1-based line of the trail file
	Seq    int64  `json:"seq"`  // the sequence the line should carry
	Reason string `json:"reason"`
}

func (p *Problem) Error() string {
	return fmt.Sprintf("audit trail broken at entry %d (line %d): %s", p.Seq, p.Line, p.Reason)
}

// Verify checks the whole trail at path. It returns the number of good
// entries and, when the trail was altered, a *Problem naming the first bad
// entry (wrapped in a modelgate.Error with code EINVALID).
func Verify(path string) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, modelgate.Errorf(modelgate.ENOTFOUND, "cannot open audit trail: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	prev, n := genesis, 0
	for sc.Scan() {
		n++
		e, perr := checkLine(sc.Bytes(), n, prev)
		if perr != nil {
			return n - 1, &modelgate.Error{Code: modelgate.EINVALID, Message: perr.Error(), Err: perr}
		}
		prev = e.Hash
	}
	if err := sc.Err(); err != nil {
		return n, fmt.Errorf("read audit trail: %w", err)
	}
	if perr := checkHead(path, n, prev); perr != nil {
		return n, &modelgate.Error{Code: modelgate.EINVALID, Message: perr.Error(), Err: perr}
	}
	return n, nil
}

func checkLine(line []byte, n int, prev string) (*modelgate.AuditEntry, *Problem) {
	bad := func(format string, args ...any) *Problem {
		return &Problem{Line: n, Seq: int64(n), Reason: fmt.Sprintf(format, args...)}
	}
	var e modelgate.AuditEntry
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		return nil, bad("not a valid entry: %v", err)
	}
	if e.Seq != int64(n) {
		return nil, bad("sequence is %d, want %d: an entry was inserted, deleted or moved", e.Seq, n)
	}
	if e.PrevHash != prev {
		return nil, bad("prev_hash does not match the previous entry: an entry was inserted, deleted or moved")
	}
	stored := e.Hash
	canon, err := seal(&e)
	if err != nil {
		return nil, bad("%v", err)
	}
	if e.Hash != stored {
		return nil, bad("hash does not match the content: the entry was edited")
	}
	if !bytes.Equal(canon, line) {
		return nil, bad("the line differs from the entry's canonical form: the entry was edited")
	}
	return &e, nil
}

func checkHead(path string, n int, last string) *Problem {
	b, err := os.ReadFile(path + ".head")
	if os.IsNotExist(err) && n == 0 {
		return nil
	}
	var h head
	if err != nil || json.Unmarshal(b, &h) != nil {
		return &Problem{Line: n, Seq: int64(n), Reason: "the head file " + path + ".head is missing or unreadable"}
	}
	if h.Seq > int64(n) {
		return &Problem{Line: n + 1, Seq: int64(n + 1), Reason: fmt.Sprintf("the trail ends at entry %d but the head records %d entries: entries were removed from the end", n, h.Seq)}
	}
	if h.Seq == int64(n) && h.Hash != last {
		return &Problem{Line: n, Seq: int64(n), Reason: "the last entry's hash differs from the head: the entry was replaced"}
	}
	return nil
}
