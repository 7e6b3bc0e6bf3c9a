package sqlite_test

import (
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/modelgatetest"
	"github.com/modelgate/modelgate/sqlite"
)

func TestPromotionStore(t *testing.T) {
	modelgatetest.TestPromotionStore(t, func(t *testing.T, now func() time.Time) modelgate.PromotionStore {
		db := sqlite.NewDB(filepath.Join(t.TempDir(), "modelgate.db"))
		db.Now = now
		if err := db.Open(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return sqlite.NewPromotionStore(db)
	})
}

// twoProcesses opens two DBs on one file, as two modelgate processes would.
func twoProcesses(t *testing.T) (a, b *sqlite.PromotionStore) {
	path := filepath.Join(t.TempDir(), "modelgate.db")
	return sqlite.NewPromotionStore(mustOpenDBAt(t, path)), sqlite.NewPromotionStore(mustOpenDBAt(t, path))
}

func TestPromotionStore_LockAcrossProcesses(t *testing.T) {
	a, b := twoProcesses(t)
	if err := a.AcquireLock(t.Context(), "fraud", "process-a", time.Minute); err != nil {
		t.Fatal(err)
	}
	err := b.AcquireLock(t.Context(), "fraud", "process-b", time.Minute)
	if code := modelgate.ErrorCode(err); code != modelgate.ECONFLICT {
		t.Fatalf("second process: code %q (%v), want conflict", code, err)
	}
	if err := a.ReleaseLock(t.Context(), "fraud", "process-a"); err != nil {
		t.Fatal(err)
	}
	if err := b.AcquireLock(t.Context(), "fraud", "process-b", time.Minute); err != nil {
		t.Errorf("after release: %v", err)
	}
}

// Racing processes: exactly one lock acquisition and one promotion succeed.
func TestPromotionStore_RaceAcrossProcesses(t *testing.T) {
	a, b := twoProcesses(t)
	stores := []*sqlite.PromotionStore{a, b}
	var wg sync.WaitGroup
	var mu sync.Mutex
	won := map[string]int{}
	for i := range 8 {
		wg.Go(func() {
			s, id := stores[i%2], string(rune('a'+i))
			lockErr := s.AcquireLock(t.Context(), "fraud", "owner-"+id, time.Minute)
			createErr := s.CreatePromotion(t.Context(), &modelgate.Promotion{ID: id, Model: "fraud", Version: "7"})
			mu.Lock()
			defer mu.Unlock()
			for what, err := range map[string]error{"lock": lockErr, "create": createErr} {
				if err == nil {
					won[what]++
				} else if modelgate.ErrorCode(err) != modelgate.ECONFLICT {
					t.Errorf("%s: %v, want success or conflict", what, err)
				}
			}
		})
	}
	wg.Wait()
	if won["lock"] != 1 || won["create"] != 1 {
		t.Errorf("successes %v, want exactly one lock and one create", won)
	}
}

// UpdatePromotion cannot reopen a finished promotion next to an active one.
func TestPromotionStore_UpdateKeepsOneActive(t *testing.T) {
	s, _ := twoProcesses(t)
	old := &modelgate.Promotion{ID: "old", Model: "fraud", Version: "6", Outcome: modelgate.OutcomeFailed}
	for _, p := range []*modelgate.Promotion{old, {ID: "new", Model: "fraud", Version: "7"}} {
		if err := s.CreatePromotion(t.Context(), p); err != nil {
			t.Fatal(err)
		}
	}
	old.Outcome = modelgate.OutcomeHeld
	if code := modelgate.ErrorCode(s.UpdatePromotion(t.Context(), old)); code != modelgate.ECONFLICT {
		t.Errorf("reactivating a promotion: code %q, want conflict", code)
	}
}

// The database runs in WAL mode, so readers do not block the writer of
// another process, and enforces foreign keys, which SaveStep relies on.
func TestDB_WALAndForeignKeys(t *testing.T) {
	path := filepath.Join(t.TempDir(), "modelgate.db")
	s := sqlite.NewPromotionStore(mustOpenDBAt(t, path))
	err := s.SaveStep(t.Context(), &modelgate.StepRecord{PromotionID: "missing", Step: modelgate.StepVerify})
	if code := modelgate.ErrorCode(err); code != modelgate.ENOTFOUND {
		t.Errorf("SaveStep for a missing promotion: code %q (%v), want not_found", code, err)
	}
	if _, err := os.Stat(path + "-wal"); err != nil {
		t.Errorf("no write-ahead log next to the database: %v", err)
	}
}

func TestDB_OpenRejectsBadPath(t *testing.T) {
	for _, path := range []string{"", filepath.Join(t.TempDir(), "a?mode=ro")} {
		if code := modelgate.ErrorCode(sqlite.NewDB(path).Open()); code != modelgate.EINVALID {
			t.Errorf("Open(%q): code %q, want invalid", path, code)
		}
	}
}
