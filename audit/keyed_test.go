package audit_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/audit"
)

var (
	keyA = []byte("0123456789abcdef0123456789abcdef")
	keyB = []byte("fedcba9876543210fedcba9876543210")
	keyX = []byte("an attacker's own key, not ours!")
)

// wantProblem checks the trail with opts and expects a problem of kind (any
// kind when "") at seq.
func wantProblem(t *testing.T, path string, opts audit.VerifyOptions, seq int64, kind string) *audit.Problem {
	t.Helper()
	r, err := audit.Check(path, opts)
	var p *audit.Problem
	if !errors.As(err, &p) || r == nil || r.Problem != p {
		t.Fatalf("Check = %+v, %v; want a *audit.Problem in the report", r, err)
	}
	if p.Seq != seq || (kind != "" && p.Kind != kind) {
		t.Fatalf("Check names entry %d, %s (%s); want entry %d, %s", p.Seq, p.Kind, p.Reason, seq, kind)
	}
	return p
}

func mustCheck(t *testing.T, path string, opts audit.VerifyOptions) *audit.Report {
	t.Helper()
	r, err := audit.Check(path, opts)
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	return r
}

func keys(k ...[]byte) audit.VerifyOptions { return audit.VerifyOptions{Keys: k} }

func decode(t *testing.T, lines [][]byte) []modelgate.AuditEntry {
	t.Helper()
	es := make([]modelgate.AuditEntry, len(lines))
	for i, l := range lines {
		if err := json.Unmarshal(l, &es[i]); err != nil {
			t.Fatal(err)
		}
	}
	return es
}

// forge is what someone who can write the files does: change entries, then
// recompute every hash from entry `from` on, and the head. key nil forges
// plain SHA-256; otherwise HMAC-SHA256 under key, claiming keyID.
func forge(t *testing.T, path string, es []modelgate.AuditEntry, from int, key []byte, keyID string) {
	t.Helper()
	var out bytes.Buffer
	for i := range es {
		e := &es[i]
		if i >= from {
			if i > 0 {
				e.PrevHash = es[i-1].Hash
			}
			e.MAC, e.KeyID, e.Hash = "", "", ""
			if key != nil {
				e.MAC, e.KeyID = audit.HMACSHA256, keyID
			}
			body, _ := json.Marshal(e)
			if key != nil {
				m := hmac.New(sha256.New, key)
				m.Write(body)
				e.Hash = hex.EncodeToString(m.Sum(nil))
			} else {
				sum := sha256.Sum256(body)
				e.Hash = hex.EncodeToString(sum[:])
			}
		}
		b, _ := json.Marshal(e)
		out.Write(append(b, '\n'))
	}
	if err := os.WriteFile(path, out.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	last := es[len(es)-1]
	head, _ := json.Marshal(map[string]any{"seq": last.Seq, "hash": last.Hash})
	if err := os.WriteFile(path+".head", head, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestKeyed_OK(t *testing.T) {
	path, lines := mustTrailWith(t, 5, keyA)
	r := mustCheck(t, path, keys(keyA))
	if r.Entries != 5 || r.Keyed != 5 || r.Unkeyed != 0 || len(r.KeyIDs) != 1 || r.KeyIDs[0] != audit.KeyID(keyA) {
		t.Fatalf("report %+v", r)
	}
	for _, l := range lines {
		if !bytes.Contains(l, []byte(`"mac":"hmac-sha256","key_id":"`+audit.KeyID(keyA)+`"`)) || bytes.Contains(l, keyA) {
			t.Fatalf("line does not name the scheme and key id, or holds the key: %s", l)
		}
	}
}

// Every single-bit change in entry 3 is blamed on entry 3, whichever way it
// shows (malformed JSON, an edited hash, another key id, an unknown mac).
func TestKeyed_EveryByteEdit(t *testing.T) {
	path, lines := mustTrailWith(t, 5, keyA)
	orig := lines[2]
	for i := range orig {
		edited := bytes.Clone(orig)
		edited[i] ^= 0x01
		write(t, path, append(append(append([][]byte{}, lines[:2]...), edited), lines[3:]...))
		wantProblem(t, path, keys(keyA), 3, "")
	}
}

// Someone who can write the files but lacks the key changes an entry and
// recomputes every later hash and the head: each way of doing it is found.
func TestKeyed_RewriteWithoutKey(t *testing.T) {
	tests := []struct {
		name  string
		from  int    // the first entry resealed
		key   []byte // the forger's key; nil: plain SHA-256
		keyID string // the key id the forger writes
		seq   int64
		kind  string
	}{
		{"ResealWithOwnKeyKeepingKeyID", 2, keyX, audit.KeyID(keyA), 3, audit.KindEdited},
		{"ResealWithOwnKeyID", 2, keyX, audit.KeyID(keyX), 3, audit.KindKeyChange},
		{"TailUnkeyed", 2, nil, "", 3, audit.KindUnkeyed},
		{"WholeTrailUnkeyed", 0, nil, "", 1, audit.KindUnkeyed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path, lines := mustTrailWith(t, 5, keyA)
			es := decode(t, lines)
			es[2].Outcome = "approved"
			forge(t, path, es, tt.from, tt.key, tt.keyID)
			wantProblem(t, path, keys(keyA), tt.seq, tt.kind)
		})
	}
}

// Rewritten as plain SHA-256, a keyed trail checked without the key looks
// like an unkeyed one, and the report says it is one.
func TestKeyed_RewrittenUnkeyedWithoutKey(t *testing.T) {
	path, lines := mustTrailWith(t, 5, keyA)
	forge(t, path, decode(t, lines), 0, nil, "")
	if r := mustCheck(t, path, audit.VerifyOptions{}); r.Keyed != 0 || r.Unkeyed != 5 {
		t.Fatalf("report %+v", r)
	}
}

// Cutting the tail and moving the head back needs the key that seals the
// head; replaying an old head file is caught only by an anchor held elsewhere.
func TestKeyed_Truncation(t *testing.T) {
	path, lines := mustTrailWith(t, 5, keyA)
	es := decode(t, lines)
	write(t, path, lines[:4])
	wantProblem(t, path, keys(keyA), 5, audit.KindTruncated)

	head, _ := json.Marshal(map[string]any{"seq": 4, "hash": es[3].Hash})
	if err := os.WriteFile(path+".head", head, 0o644); err != nil {
		t.Fatal(err)
	}
	wantProblem(t, path, keys(keyA), 4, audit.KindHead)

	path4, _ := mustTrailWith(t, 4, keyA) // the same first four entries, and their sealed head
	old, err := os.ReadFile(path4 + ".head")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path+".head", old, 0o644); err != nil {
		t.Fatal(err)
	}
	mustCheck(t, path, keys(keyA))
	anchor := audit.Anchor{Seq: 5, Hash: es[4].Hash}
	wantProblem(t, path, audit.VerifyOptions{Keys: [][]byte{keyA}, Anchors: []audit.Anchor{anchor}}, 5, audit.KindTruncated)
}

// Someone with the key rewrites history from entry 2 on and recomputes
// everything: only an anchor taken earlier and kept elsewhere finds it.
func TestKeyed_RewriteWithKeyFoundByAnchor(t *testing.T) {
	path, _ := mustTrailWith(t, 3, keyA)
	l, err := audit.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	l.Key = keyA
	seq, hash, err := l.Head(context.Background())
	if err != nil || seq != 3 {
		t.Fatalf("Head = %d, %q, %v", seq, hash, err)
	}
	anchor := audit.Anchor{Seq: seq, Hash: hash}
	for i := 0; i < 2; i++ {
		if _, err := l.Append(context.Background(), modelgate.AuditEntry{Action: "step.done", Outcome: "ok"}); err != nil {
			t.Fatal(err)
		}
	}
	data, _ := os.ReadFile(path)
	es := decode(t, bytes.SplitAfter(data, []byte("\n"))[:5])

	rewritten, _ := mustTrailWith(t, 0, nil)
	rl, _ := audit.Open(rewritten)
	rl.Key = keyA
	es[1].Outcome = "approved"
	for _, e := range es {
		if _, err := rl.Append(context.Background(), e); err != nil {
			t.Fatal(err)
		}
	}
	for _, ext := range []string{"", ".head"} {
		b, _ := os.ReadFile(rewritten + ext)
		if err := os.WriteFile(path+ext, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	mustCheck(t, path, keys(keyA))
	p := wantProblem(t, path, audit.VerifyOptions{Keys: [][]byte{keyA}, Anchors: []audit.Anchor{anchor}}, 3, audit.KindAnchor)
	if !strings.Contains(p.Reason, "rewritten at or before") {
		t.Fatalf("reason %q", p.Reason)
	}
}

func TestKeyed_WrongOrNoKey(t *testing.T) {
	path, _ := mustTrailWith(t, 3, keyA)
	p := wantProblem(t, path, keys(keyB), 1, audit.KindWrongKey)
	if !strings.Contains(p.Reason, "different key") || !strings.Contains(p.Reason, audit.KeyID(keyA)) {
		t.Fatalf("reason %q", p.Reason)
	}
	wantProblem(t, path, audit.VerifyOptions{}, 1, audit.KindNoKey)
	if _, err := audit.Verify(path); err == nil {
		t.Fatal("Verify without a key accepted a keyed trail")
	}
}

func TestUnkeyed_Report(t *testing.T) {
	path, _ := mustTrail(t, 4)
	r := mustCheck(t, path, audit.VerifyOptions{})
	if r.Entries != 4 || r.Unkeyed != 4 || r.Keyed != 0 || len(r.KeyIDs) != 0 {
		t.Fatalf("report %+v", r)
	}
	wantProblem(t, path, keys(keyA), 1, audit.KindUnkeyed)
	mustCheck(t, path, keys(nil)) // a key the caller did not find is no key
}

func TestAppend_RefusesAnotherKey(t *testing.T) {
	path, _ := mustTrailWith(t, 2, keyA)
	for name, key := range map[string][]byte{"NoKey": nil, "OtherKey": keyB} {
		l, _ := audit.Open(path)
		l.Key = key
		if _, err := l.Append(context.Background(), modelgate.AuditEntry{Action: "x"}); modelgate.ErrorCode(err) != modelgate.EINVALID {
			t.Fatalf("%s: Append = %v, want EINVALID", name, err)
		}
	}
	mustCheck(t, path, keys(keyA))
}

// Keying an unkeyed trail pins its past: the first keyed entry's MAC covers
// the last unkeyed hash, so rewriting the unkeyed part breaks the link.
func TestKeying_PinsUnkeyedPrefix(t *testing.T) {
	path, _ := mustTrail(t, 3)
	l, _ := audit.Open(path)
	l.Key = keyA
	for i := 0; i < 2; i++ {
		if _, err := l.Append(context.Background(), modelgate.AuditEntry{Action: "x"}); err != nil {
			t.Fatal(err)
		}
	}
	r := mustCheck(t, path, keys(keyA))
	if r.Unkeyed != 3 || r.Keyed != 2 {
		t.Fatalf("report %+v", r)
	}
	data, _ := os.ReadFile(path)
	es := decode(t, bytes.SplitAfter(data, []byte("\n"))[:5])
	es[1].Outcome = "approved"
	prefix := es[:3]
	forge(t, path, prefix, 1, nil, "")
	forgeKeep(t, path, es)
	wantProblem(t, path, keys(keyA), 4, audit.KindBrokenLink)
}

// forgeKeep writes es as they are (the keyed entries the forger cannot reseal).
func forgeKeep(t *testing.T, path string, es []modelgate.AuditEntry) {
	t.Helper()
	var out bytes.Buffer
	for _, e := range es {
		b, _ := json.Marshal(e)
		out.Write(append(b, '\n'))
	}
	if err := os.WriteFile(path, out.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestRotateKey(t *testing.T) {
	ctx := context.Background()
	path, _ := mustTrailWith(t, 2, keyA)
	l, _ := audit.Open(path)
	l.Key = keyA
	rot, err := l.RotateKey(ctx, modelgate.AuditEntry{Actor: "ops"}, keyB)
	if err != nil || rot.KeyID != audit.KeyID(keyA) || rot.NextKeyID != audit.KeyID(keyB) || rot.Action != audit.RotationAction {
		t.Fatalf("RotateKey = %+v, %v", rot, err)
	}
	if seq, _, err := l.Head(ctx); seq != 3 || err != nil {
		t.Fatalf("Head after the rotation = %d, %v", seq, err)
	}
	if _, err := l.Append(ctx, modelgate.AuditEntry{Action: "x"}); err != nil {
		t.Fatal(err)
	}
	old, _ := audit.Open(path)
	old.Key = keyA
	if _, err := old.Append(ctx, modelgate.AuditEntry{Action: "x"}); modelgate.ErrorCode(err) != modelgate.EINVALID {
		t.Fatalf("Append with the retired key = %v, want EINVALID", err)
	}
	r := mustCheck(t, path, keys(keyA, keyB))
	if r.Entries != 4 || len(r.KeyIDs) != 2 || r.KeyIDs[1] != audit.KeyID(keyB) {
		t.Fatalf("report %+v", r)
	}
	wantProblem(t, path, keys(keyB), 1, audit.KindWrongKey)

	// The retired key's holder forges an entry after the new segment.
	data, _ := os.ReadFile(path)
	es := decode(t, bytes.SplitAfter(data, []byte("\n"))[:4])
	es = append(es, modelgate.AuditEntry{Seq: 5, Action: "x", PrevHash: es[3].Hash})
	forge(t, path, es, 4, keyA, audit.KeyID(keyA))
	wantProblem(t, path, keys(keyA, keyB), 5, audit.KindKeyChange)
}

func TestHead(t *testing.T) {
	ctx := context.Background()
	empty, _ := mustTrailWith(t, 0, nil)
	l, _ := audit.Open(empty)
	if seq, hash, err := l.Head(ctx); seq != 0 || hash != "" || err != nil {
		t.Fatalf("Head of a missing trail = %d, %q, %v", seq, hash, err)
	}
	path, lines := mustTrailWith(t, 3, keyA)
	l, _ = audit.Open(path)
	l.Key = keyA
	seq, hash, err := l.Head(ctx)
	if r := mustCheck(t, path, keys(keyA)); err != nil || r.Head != (audit.Anchor{Seq: seq, Hash: hash}) || seq != 3 {
		t.Fatalf("Head = %d, %q, %v; report head %+v", seq, hash, err, r.Head)
	}
	edited := bytes.Replace(lines[2], []byte(`"outcome":"ok"`), []byte(`"outcome":"no"`), 1)
	write(t, path, [][]byte{lines[0], lines[1], edited})
	if _, _, err := l.Head(ctx); err == nil {
		t.Fatal("Head handed out an edited last entry")
	}
}

func TestParseAnchor(t *testing.T) {
	h := strings.Repeat("ab", 32)
	if a, err := audit.ParseAnchor("12:" + strings.ToUpper(h)); err != nil || a != (audit.Anchor{Seq: 12, Hash: h}) || a.String() != "12:"+h {
		t.Fatalf("ParseAnchor = %+v, %v", a, err)
	}
	for _, s := range []string{"", "12", "0:" + h, "-1:" + h, "x:" + h, "12:" + h[:63], "12:" + h[:62] + "zz"} {
		if _, err := audit.ParseAnchor(s); err == nil {
			t.Errorf("ParseAnchor(%q) accepted it", s)
		}
	}
}

func TestParseKey(t *testing.T) {
	k, err := audit.ParseKey([]byte("  " + string(keyA) + "\n"))
	if err != nil || !bytes.Equal(k, keyA) {
		t.Fatalf("ParseKey = %q, %v", k, err)
	}
	if _, err := audit.ParseKey([]byte("short\n")); err == nil {
		t.Fatal("ParseKey accepted a 5-byte key")
	}
	if id := audit.KeyID(keyA); len(id) != 16 || strings.Contains(string(keyA), id) {
		t.Fatalf("KeyID = %q", id)
	}
}
