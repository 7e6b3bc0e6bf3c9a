package postgres_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/audit"
	"github.com/modelgate/modelgate/postgres"
	"github.com/modelgate/modelgate/postgres/postgrestest"
)

func TestPostgresAuditLog(t *testing.T) {
	cluster := postgrestest.Start(t)
	t.Run("ChainAcrossProcesses", func(t *testing.T) {
		dsn := cluster.NewDatabase(t)
		logs := []*postgres.AuditLog{postgres.NewAuditLog(mustOpenDB(t, dsn, nil)), postgres.NewAuditLog(mustOpenDB(t, dsn, nil))}
		appendConcurrently(t, logs, 20)
		r, err := audit.Check(export(t, logs[0]), audit.VerifyOptions{})
		if err != nil || r.Entries != 20 || r.Unkeyed != 20 {
			t.Fatalf("audit.Check of the export = %+v, %v; want 20 good unkeyed entries", r, err)
		}
		entries, err := logs[1].Entries(t.Context(), "p1")
		if err != nil || len(entries) != 10 {
			t.Fatalf("Entries(p1) = %d entries, %v; want 10", len(entries), err)
		}
		for i := 1; i < len(entries); i++ {
			if entries[i].Seq <= entries[i-1].Seq {
				t.Errorf("Entries(p1) out of order: seq %d after %d", entries[i].Seq, entries[i-1].Seq)
			}
		}
	})
	t.Run("Keyed", func(t *testing.T) {
		db := mustOpenDB(t, cluster.NewDatabase(t), nil)
		key := []byte("0123456789abcdef0123456789abcdef")
		keyed := postgres.NewAuditLog(db)
		keyed.Key = key
		appendConcurrently(t, []*postgres.AuditLog{keyed}, 3)
		r, err := audit.Check(export(t, keyed), audit.VerifyOptions{Keys: [][]byte{key}})
		if err != nil || r.Keyed != 3 {
			t.Fatalf("audit.Check of the keyed export = %+v, %v; want 3 keyed entries", r, err)
		}
		for name, k := range map[string][]byte{"no key": nil, "another key": []byte("fedcba9876543210fedcba9876543210")} {
			other := postgres.NewAuditLog(db)
			other.Key = k
			_, err := other.Append(t.Context(), modelgate.AuditEntry{Action: "x", Model: "fraud", Outcome: "ok"})
			if code := modelgate.ErrorCode(err); code != modelgate.EINVALID {
				t.Errorf("Append with %s onto a keyed trail: code %q (%v), want invalid", name, code, err)
			}
		}
	})
	t.Run("RotateKeyAndHead", func(t *testing.T) {
		dsn := cluster.NewDatabase(t)
		oldKey, newKey := []byte("0123456789abcdef0123456789abcdef"), []byte("fedcba9876543210fedcba9876543210")
		l := postgres.NewAuditLog(mustOpenDB(t, dsn, nil))
		l.Key = oldKey
		appendConcurrently(t, []*postgres.AuditLog{l}, 2)
		rot, err := l.RotateKey(t.Context(), modelgate.AuditEntry{Actor: "alice", Detail: "yearly"}, newKey)
		if err != nil {
			t.Fatalf("RotateKey: %v", err)
		}
		// Another process still configured with the new key reads the
		// rotation as its head, and continues the trail with it.
		other := postgres.NewAuditLog(mustOpenDB(t, dsn, nil))
		other.Key = newKey
		if seq, hash, err := other.Head(t.Context()); err != nil || seq != rot.Seq || hash != rot.Hash {
			t.Fatalf("Head after the rotation = %d:%s, %v; want %d:%s", seq, hash, err, rot.Seq, rot.Hash)
		}
		appendConcurrently(t, []*postgres.AuditLog{l, other}, 2)
		old := postgres.NewAuditLog(mustOpenDB(t, dsn, nil))
		old.Key = oldKey
		if _, err := old.Append(t.Context(), modelgate.AuditEntry{Action: "x", Outcome: "ok"}); modelgate.ErrorCode(err) != modelgate.EINVALID {
			t.Errorf("Append with the retired key: %v, want invalid", err)
		}
		seq, hash, err := l.Head(t.Context())
		if err != nil || seq != 5 {
			t.Fatalf("Head = %d, %v; want entry 5", seq, err)
		}
		anchor := audit.Anchor{Seq: seq, Hash: hash}
		r, err := audit.Check(export(t, l), audit.VerifyOptions{Keys: [][]byte{oldKey, newKey}, Anchors: []audit.Anchor{anchor}})
		if err != nil || r.Keyed != 5 || len(r.KeyIDs) != 2 || r.Anchors != 1 {
			t.Fatalf("audit.Check across the rotation = %+v, %v; want 5 entries under 2 keys and the anchor", r, err)
		}
	})
}

// appendConcurrently appends n entries spread over logs (alternating
// promotions p1 and p2) from as many goroutines.
func appendConcurrently(t *testing.T, logs []*postgres.AuditLog, n int) {
	t.Helper()
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			e := modelgate.AuditEntry{Actor: "alice", Action: "promotion.step", Model: "fraud", Version: "7",
				PromotionID: fmt.Sprintf("p%d", i%2+1), Outcome: "ok", Detail: fmt.Sprint("entry ", i)}
			if _, err := logs[i%len(logs)].Append(t.Context(), e); err != nil {
				t.Errorf("Append %d: %v", i, err)
			}
		})
	}
	wg.Wait()
}

// export writes l as a JSON Lines trail with its head sidecar and returns
// the trail's path.
func export(t *testing.T, l *postgres.AuditLog) string {
	t.Helper()
	var trail, head bytes.Buffer
	if err := l.Export(t.Context(), &trail, &head); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	if err := os.WriteFile(path, trail.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path+".head", head.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}
