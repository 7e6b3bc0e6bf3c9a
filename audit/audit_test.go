package audit_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/audit"
)

func mustTrail(t *testing.T, n int) (string, [][]byte) {
	t.Helper()
	return mustTrailWith(t, n, nil)
}

// mustTrailWith writes n entries sealed with key (unkeyed when nil).
func mustTrailWith(t *testing.T, n int, key []byte) (string, [][]byte) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	l, err := audit.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	l.Key = key
	clock := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	l.Now = func() time.Time { clock = clock.Add(time.Second); return clock }
	for i := 0; i < n; i++ {
		e, err := l.Append(context.Background(), modelgate.AuditEntry{
			Actor: "ci", Action: "step.done", Model: "demand-forecast", Version: fmt.Sprint(i + 1), Outcome: "ok",
		})
		if err != nil {
			t.Fatal(err)
		}
		if e.Seq != int64(i+1) {
			t.Fatalf("seq = %d, want %d", e.Seq, i+1)
		}
	}
	if n == 0 {
		return path, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return path, bytes.SplitAfter(data, []byte("\n"))[:n]
}

func write(t *testing.T, path string, lines [][]byte) {
	t.Helper()
	if err := os.WriteFile(path, bytes.Join(lines, nil), 0o644); err != nil {
		t.Fatal(err)
	}
}

func wantBroken(t *testing.T, path string, seq int64) {
	t.Helper()
	_, err := audit.Verify(path)
	var p *audit.Problem
	if !errors.As(err, &p) {
		t.Fatalf("Verify = %v, want a *audit.Problem", err)
	}
	if p.Seq != seq {
		t.Fatalf("Verify names entry %d (%s), want %d", p.Seq, p.Reason, seq)
	}
}

func TestVerify_OK(t *testing.T) {
	path, _ := mustTrail(t, 5)
	n, err := audit.Verify(path)
	if err != nil || n != 5 {
		t.Fatalf("Verify = %d, %v; want 5, nil", n, err)
	}
}

// Every single-byte change anywhere in entry 3 is caught and blamed on entry 3.
func TestVerify_EveryByteEdit(t *testing.T) {
	path, lines := mustTrail(t, 5)
	orig := lines[2]
	for i := range orig {
		for _, b := range []byte{'0', 'x', ' ', '"'} {
			if orig[i] == b {
				continue
			}
			edited := bytes.Clone(orig)
			edited[i] = b
			mod := append(append(append([][]byte{}, lines[:2]...), edited), lines[3:]...)
			write(t, path, mod)
			wantBroken(t, path, 3)
		}
	}
}

func TestVerify_Deletion(t *testing.T) {
	path, lines := mustTrail(t, 5)
	write(t, path, append(append([][]byte{}, lines[:1]...), lines[2:]...))
	wantBroken(t, path, 2)
}

func TestVerify_TailTruncation(t *testing.T) {
	path, lines := mustTrail(t, 5)
	write(t, path, lines[:4])
	wantBroken(t, path, 5)
}

func TestVerify_Reorder(t *testing.T) {
	path, lines := mustTrail(t, 5)
	write(t, path, [][]byte{lines[0], lines[2], lines[1], lines[3], lines[4]})
	wantBroken(t, path, 2)
}

func TestVerify_Insertion(t *testing.T) {
	path, lines := mustTrail(t, 5)
	write(t, path, [][]byte{lines[0], lines[1], lines[1], lines[2], lines[3], lines[4]})
	wantBroken(t, path, 3)
}

func TestAppend_ContinuesChainAcrossOpens(t *testing.T) {
	path, _ := mustTrail(t, 2)
	l, err := audit.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	e, err := l.Append(context.Background(), modelgate.AuditEntry{Action: "x"})
	if err != nil || e.Seq != 3 {
		t.Fatalf("Append = %d, %v; want seq 3", e.Seq, err)
	}
	if n, err := audit.Verify(path); err != nil || n != 3 {
		t.Fatalf("Verify = %d, %v", n, err)
	}
}

func TestEntries_OnePromotionOldestFirst(t *testing.T) {
	l, err := audit.Open(t.TempDir() + "/audit.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := l.Entries(t.Context(), "p1"); err != nil || len(got) != 0 {
		t.Fatalf("no trail yet: %v, %v", got, err)
	}
	for i, id := range []string{"p1", "p2", "p1"} {
		if _, err := l.Append(t.Context(), modelgate.AuditEntry{Action: fmt.Sprintf("a%d", i), PromotionID: id, Outcome: "ok"}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := l.Entries(t.Context(), "p1")
	if err != nil || len(got) != 2 || got[0].Action != "a0" || got[1].Action != "a2" {
		t.Fatalf("entries of p1: %+v, %v", got, err)
	}
}
