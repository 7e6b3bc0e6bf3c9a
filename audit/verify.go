package audit

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/modelgate/modelgate"
)

// Kinds of Problem.
const (
	KindMalformed  = "malformed"   // the line is not an entry
	KindEdited     = "edited"      // the hash does not match the content
	KindBrokenLink = "broken_link" // seq or prev_hash does not follow: inserted, deleted or moved
	KindNoKey      = "no_key"      // sealed with a key and none was given
	KindWrongKey   = "wrong_key"   // sealed with a key other than those given
	KindKeyChange  = "key_change"  // the key changed without a rotation entry
	KindUnkeyed    = "unkeyed"     // not keyed where a key was expected
	KindTruncated  = "truncated"   // entries are missing from the end
	KindHead       = "head"        // the head sidecar disagrees or is not sealed
	KindAnchor     = "anchor"      // an entry differs from an anchor held elsewhere
)

// Problem describes the first bad entry Verify found.
type Problem struct {
	Line   int    `json:"line"` // 1-based line of the trail file
	Seq    int64  `json:"seq"`  // the sequence the line should carry
	Kind   string `json:"kind"` // one of the Kind constants
	Reason string `json:"reason"`
}

func (p *Problem) Error() string {
	return fmt.Sprintf("audit trail broken at entry %d (line %d): %s", p.Seq, p.Line, p.Reason)
}

// Anchor is an entry's sequence and hash recorded outside the trail, e.g.
// from (*Log).Head. Written "SEQ:HASH".
type Anchor struct {
	Seq  int64  `json:"seq"`
	Hash string `json:"hash"`
}

func (a Anchor) String() string { return strconv.FormatInt(a.Seq, 10) + ":" + a.Hash }

// ParseAnchor reads "SEQ:HASH".
func ParseAnchor(s string) (Anchor, error) {
	seq, hash, _ := strings.Cut(s, ":")
	n, err := strconv.ParseInt(seq, 10, 64)
	hash = strings.ToLower(hash)
	if err != nil || n < 1 || len(hash) != 64 || strings.Trim(hash, "0123456789abcdef") != "" {
		return Anchor{}, modelgate.Errorf(modelgate.EINVALID, "anchor %q: expected SEQ:HASH, a sequence from 1 and a 64-digit hex hash", s)
	}
	return Anchor{Seq: n, Hash: hash}, nil
}

// VerifyOptions says what Check checks besides the chain itself.
type VerifyOptions struct {
	// Keys are the keys that may have sealed entries: the current one and,
	// after rotations, the earlier ones; empty ones are skipped. With none, a
	// keyed entry is a KindNoKey problem; with some, a trail with no keyed
	// entry at all is a KindUnkeyed problem (it was not keyed, or was
	// rewritten without the key).
	Keys [][]byte
	// Anchors must each still be in the trail: the entry at Seq with Hash.
	Anchors []Anchor
}

// Report is what Check found.
type Report struct {
	Path    string   `json:"path"`
	Entries int      `json:"entries"` // good entries before the first problem
	Unkeyed int      `json:"unkeyed"` // of those, sealed with plain SHA-256
	Keyed   int      `json:"keyed"`   // of those, sealed with HMAC-SHA256
	KeyIDs  []string `json:"key_ids"` // the keys that sealed them, in order
	Head    Anchor   `json:"head"`    // the last good entry
	Anchors int      `json:"anchors"` // anchors that matched
	Problem *Problem `json:"problem,omitempty"`
}

// Verify checks the whole unkeyed trail at path: Check with no options. It
// returns the number of good entries and, when the trail was altered, a
// *Problem naming the first bad entry (wrapped in a modelgate.Error with code
// EINVALID). A keyed trail needs Check with its keys.
func Verify(path string) (int, error) {
	r, err := Check(path, VerifyOptions{})
	if r == nil {
		return 0, err
	}
	return r.Entries, err
}

// Check verifies the trail at path: every entry's hash (under its key when
// keyed), its link to the previous entry, key changes only after a rotation
// entry, the head sidecar and the anchors. When it finds a problem it returns
// the report with Problem set and a modelgate.Error (EINVALID) wrapping it.
func Check(path string, o VerifyOptions) (*Report, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, modelgate.Errorf(modelgate.ENOTFOUND, "cannot open audit trail: %v", err)
	}
	defer f.Close()
	v := &verifier{ring: newKeyring(o.Keys), r: &Report{Path: path, KeyIDs: []string{}}, prev: modelgate.AuditEntry{Hash: genesis}}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		if p := v.entry(sc.Bytes()); p != nil {
			return v.fail(p)
		}
	}
	if err := sc.Err(); err != nil {
		return v.r, fmt.Errorf("read audit trail: %w", err)
	}
	p := v.head(path)
	if p == nil {
		p = v.anchors(o.Anchors)
	}
	if p == nil {
		p = v.keyedAtAll()
	}
	if p != nil {
		return v.fail(p)
	}
	return v.r, nil
}

type verifier struct {
	ring  keyring
	r     *Report
	prev  modelgate.AuditEntry   // the last good entry
	links []modelgate.AuditEntry // every good entry's Seq, Hash and KeyID
}

func (v *verifier) fail(p *Problem) (*Report, error) {
	v.r.Problem = p
	return v.r, &modelgate.Error{Code: modelgate.EINVALID, Message: p.Error(), Err: p}
}

// bad is a problem with the entry after the last good one.
func (v *verifier) bad(kind, format string, args ...any) *Problem {
	n := len(v.links) + 1
	return &Problem{Line: n, Seq: int64(n), Kind: kind, Reason: fmt.Sprintf(format, args...)}
}

func (v *verifier) entry(line []byte) *Problem {
	var e modelgate.AuditEntry
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		return v.bad(KindMalformed, "not a valid entry: %v", err)
	}
	if want := int64(len(v.links) + 1); e.Seq != want {
		return v.bad(KindBrokenLink, "sequence is %d, want %d: an entry was inserted, deleted or moved", e.Seq, want)
	}
	if e.PrevHash != v.prev.Hash {
		return v.bad(KindBrokenLink, "prev_hash does not match the previous entry: an entry was inserted, deleted or moved")
	}
	if p := v.scheme(e); p != nil {
		return p
	}
	key, p := v.key(e)
	if p != nil {
		return p
	}
	if p := v.content(e, key, line); p != nil {
		return p
	}
	v.accept(e)
	return nil
}

// scheme checks how e is sealed against how the previous entry was: once
// keyed, always keyed, and a new key only right after a rotation entry.
func (v *verifier) scheme(e modelgate.AuditEntry) *Problem {
	p := v.prev
	switch {
	case e.MAC != "" && e.MAC != HMACSHA256:
		return v.bad(KindMalformed, "mac %q is not one modelgate writes", e.MAC)
	case e.MAC == "" && (e.KeyID != "" || e.NextKeyID != ""):
		return v.bad(KindMalformed, "an unkeyed entry carries key_id or next_key_id")
	case p.NextKeyID != "" && e.KeyID != p.NextKeyID:
		return v.bad(KindKeyChange, "entry %d rotated the key to %s, but this entry is %s", p.Seq, p.NextKeyID, sealedBy(e))
	case e.MAC == "" && p.MAC != "":
		return v.bad(KindUnkeyed, "this entry is not keyed but follows keyed entries: it was written or rewritten by someone without the key")
	case e.MAC != "" && p.MAC != "" && p.NextKeyID == "" && e.KeyID != p.KeyID:
		return v.bad(KindKeyChange, "sealed with key %s, but entry %d was sealed with key %s and recorded no rotation", e.KeyID, p.Seq, p.KeyID)
	}
	return nil
}

func sealedBy(e modelgate.AuditEntry) string {
	if e.MAC == "" {
		return "not keyed"
	}
	return "sealed with key " + e.KeyID
}

// key returns the key that sealed e (nil for an unkeyed entry).
func (v *verifier) key(e modelgate.AuditEntry) ([]byte, *Problem) {
	if e.MAC == "" {
		return nil, nil
	}
	if k, ok := v.ring[e.KeyID]; ok {
		return k, nil
	}
	if len(v.ring) == 0 {
		return nil, v.bad(KindNoKey, "sealed with key %s and no key was given to check it", e.KeyID)
	}
	return nil, v.bad(KindWrongKey, "sealed with key %s, not with the key given (%s): it was sealed with a different key (after a rotation, give the earlier keys too), or its key_id was edited", e.KeyID, v.ring.ids())
}

// content checks e's hash and that the line is e's canonical form.
func (v *verifier) content(e modelgate.AuditEntry, key, line []byte) *Problem {
	want, err := digest(e, key)
	if err != nil {
		return v.bad(KindMalformed, "%v", err)
	}
	if want != e.Hash {
		if e.MAC != "" {
			return v.bad(KindEdited, "the hash does not match the content under key %s: the entry was edited, or resealed by someone without the key", e.KeyID)
		}
		return v.bad(KindEdited, "hash does not match the content: the entry was edited")
	}
	if canon, err := json.Marshal(e); err != nil || !bytes.Equal(canon, line) {
		return v.bad(KindEdited, "the line differs from the entry's canonical form: the entry was edited")
	}
	return nil
}

func (v *verifier) accept(e modelgate.AuditEntry) {
	v.links = append(v.links, modelgate.AuditEntry{Seq: e.Seq, Hash: e.Hash, KeyID: e.KeyID})
	v.prev = e
	r := v.r
	r.Entries, r.Head = len(v.links), Anchor{Seq: e.Seq, Hash: e.Hash}
	if e.MAC == "" {
		r.Unkeyed++
		return
	}
	r.Keyed++
	if !slices.Contains(r.KeyIDs, e.KeyID) {
		r.KeyIDs = append(r.KeyIDs, e.KeyID)
	}
}

// head checks the sidecar: it may lag the trail by the entries written after
// it (a crash between the two writes) but never name an entry the trail does
// not hold, and on a keyed entry it must be sealed with that entry's key.
func (v *verifier) head(path string) *Problem {
	n := int64(len(v.links))
	at := func(seq int64, kind, format string, args ...any) *Problem {
		return &Problem{Line: int(seq), Seq: seq, Kind: kind, Reason: fmt.Sprintf(format, args...)}
	}
	b, err := os.ReadFile(path + ".head")
	if errors.Is(err, os.ErrNotExist) && n == 0 {
		return nil
	}
	var h head
	if err != nil || json.Unmarshal(b, &h) != nil || h.Seq < 0 || (h.Seq == 0 && n > 0) {
		return at(n, KindHead, "the head file %s.head is missing or unreadable", path)
	}
	if h.Seq > n {
		return at(n+1, KindTruncated, "the trail ends at entry %d but the head records %d entries: entries were removed from the end", n, h.Seq)
	}
	if h.Seq == 0 {
		return nil
	}
	e := v.links[h.Seq-1]
	if h.Hash != e.Hash {
		return at(h.Seq, KindHead, "entry %d's hash differs from the head: the entry was replaced", h.Seq)
	}
	if e.KeyID == "" {
		return nil
	}
	if h.KeyID != e.KeyID || h.Seal != headSeal(v.ring[e.KeyID], h.Seq, h.Hash) {
		return at(h.Seq, KindHead, "the head is not sealed with the key of entry %d: it was rewritten by someone without the key", h.Seq)
	}
	return nil
}

func (v *verifier) anchors(as []Anchor) *Problem {
	as = slices.Clone(as)
	slices.SortFunc(as, func(a, b Anchor) int { return int(a.Seq - b.Seq) })
	n := int64(len(v.links))
	for _, a := range as {
		switch {
		case a.Seq < 1:
			return &Problem{Kind: KindAnchor, Reason: fmt.Sprintf("anchor %s names no entry", a)}
		case a.Seq > n:
			return &Problem{Line: int(n + 1), Seq: n + 1, Kind: KindTruncated,
				Reason: fmt.Sprintf("an anchor held elsewhere records entry %d but the trail ends at entry %d: entries were removed from the end", a.Seq, n)}
		case v.links[a.Seq-1].Hash != strings.ToLower(a.Hash):
			return &Problem{Line: int(a.Seq), Seq: a.Seq, Kind: KindAnchor,
				Reason: fmt.Sprintf("the hash differs from the anchor held elsewhere (%s): the trail was rewritten at or before this entry", a)}
		}
		v.r.Anchors++
	}
	return nil
}

// keyedAtAll: given a key, a trail with no keyed entry was either never
// keyed or rewritten by someone without it; either way it is not what the
// caller expects.
func (v *verifier) keyedAtAll() *Problem {
	if len(v.ring) == 0 || len(v.links) == 0 || v.r.Keyed > 0 {
		return nil
	}
	return &Problem{Line: 1, Seq: 1, Kind: KindUnkeyed,
		Reason: "a key was given but no entry is sealed with a key: the trail was never keyed, or was rewritten by someone without the key"}
}
