package postgres_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/modelgatetest"
	"github.com/modelgate/modelgate/postgres"
	"github.com/modelgate/modelgate/postgres/postgrestest"
)

func TestPostgresPromotionStore(t *testing.T) {
	cluster := postgrestest.Start(t)
	modelgatetest.TestPromotionStore(t, func(t *testing.T, now func() time.Time) modelgate.PromotionStore {
		return postgres.NewPromotionStore(mustOpenDB(t, cluster.NewDatabase(t), now))
	})
}

// mustOpenDB opens a DB on dsn with the given clock (time.Now when nil) and
// closes it when t ends. Each call is a pool of its own, as a separate
// modelgate process would have.
func mustOpenDB(t *testing.T, dsn string, now func() time.Time) *postgres.DB {
	t.Helper()
	db := postgres.NewDB(dsn)
	if now != nil {
		db.Now = now
	}
	if err := db.Open(t.Context()); err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// Several modelgate processes (two CLIs, or a CLI and the server) share one
// database, each through its own connection pool.
func TestPostgresPromotionStore_TwoProcesses(t *testing.T) {
	cluster := postgrestest.Start(t)
	twoProcesses := func(t *testing.T, now func() time.Time) (a, b *postgres.PromotionStore) {
		dsn := cluster.NewDatabase(t)
		return postgres.NewPromotionStore(mustOpenDB(t, dsn, now)), postgres.NewPromotionStore(mustOpenDB(t, dsn, now))
	}
	t.Run("Lock", func(t *testing.T) { testLockAcrossProcesses(t, twoProcesses) })
	t.Run("LockFromGoneHolder", func(t *testing.T) { testLockFromGoneHolder(t, twoProcesses) })
	t.Run("Race", func(t *testing.T) { testRaceAcrossProcesses(t, twoProcesses) })
	t.Run("UpdateKeepsOneActive", func(t *testing.T) { testUpdateKeepsOneActive(t, twoProcesses) })
	t.Run("ConcurrentOpen", func(t *testing.T) { testConcurrentOpen(t, cluster.NewDatabase(t)) })
}

type opener func(t *testing.T, now func() time.Time) (a, b *postgres.PromotionStore)

func testLockAcrossProcesses(t *testing.T, open opener) {
	a, b := open(t, nil)
	if err := a.AcquireLock(t.Context(), "fraud", "process-a", time.Minute); err != nil {
		t.Fatal(err)
	}
	err := b.AcquireLock(t.Context(), "fraud", "process-b", time.Minute)
	if code := modelgate.ErrorCode(err); code != modelgate.ECONFLICT {
		t.Fatalf("second process: code %q (%v), want conflict", code, err)
	}
	if msg := modelgate.ErrorMessage(err); !strings.Contains(msg, "process-a") {
		t.Errorf("conflict message %q should name the holder process-a", msg)
	}
	if owner, _, err := b.LockHolder(t.Context(), "fraud"); err != nil || owner != "process-a" {
		t.Errorf("LockHolder from the other process = %q, %v; want process-a", owner, err)
	}
	if err := a.ReleaseLock(t.Context(), "fraud", "process-a"); err != nil {
		t.Fatal(err)
	}
	if err := b.AcquireLock(t.Context(), "fraud", "process-b", time.Minute); err != nil {
		t.Errorf("after release: %v", err)
	}
}

// A holder that is gone (crashed, killed) loses its lock exactly as with
// sqlite: another process takes it over once it expires, or at once by
// breaking it by name; the gone holder's late release then frees nothing.
func testLockFromGoneHolder(t *testing.T, open opener) {
	clock := modelgatetest.NewClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	a, b := open(t, clock.Now)
	ctx := t.Context()
	if err := a.AcquireLock(ctx, "fraud", "host-a:1", time.Minute); err != nil {
		t.Fatal(err)
	}
	clock.Advance(59 * time.Second)
	if code := modelgate.ErrorCode(b.AcquireLock(ctx, "fraud", "host-b:2", time.Minute)); code != modelgate.ECONFLICT {
		t.Fatalf("before expiry: code %q, want conflict", code)
	}
	clock.Advance(time.Second) // expired: taken over
	if err := b.AcquireLock(ctx, "fraud", "host-b:2", time.Minute); err != nil {
		t.Fatalf("taking over an expired lock: %v", err)
	}
	if err := a.ReleaseLock(ctx, "fraud", "host-a:1"); err != nil {
		t.Fatal(err)
	}
	if owner, _, _ := a.LockHolder(ctx, "fraud"); owner != "host-b:2" {
		t.Fatalf("after the gone holder's late release the holder is %q, want host-b:2", owner)
	}

	// Known gone before expiry: break it naming the holder, then take it.
	if err := a.BreakLock(ctx, "fraud", "host-a:1"); err != nil { // names a former holder: no effect
		t.Fatal(err)
	}
	if code := modelgate.ErrorCode(a.AcquireLock(ctx, "fraud", "host-a:3", time.Minute)); code != modelgate.ECONFLICT {
		t.Fatalf("after breaking a former holder's lock: code %q, want conflict", code)
	}
	if err := a.BreakLock(ctx, "fraud", "host-b:2"); err != nil {
		t.Fatal(err)
	}
	if err := a.AcquireLock(ctx, "fraud", "host-a:3", time.Minute); err != nil {
		t.Errorf("after breaking the gone holder's lock: %v", err)
	}
}

// Racing processes: exactly one lock acquisition and one promotion succeed,
// for a free lock and again for an expired one.
func testRaceAcrossProcesses(t *testing.T, open opener) {
	clock := modelgatetest.NewClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	a, b := open(t, clock.Now)
	stores := []*postgres.PromotionStore{a, b}
	for round, model := range []string{"fraud", "churn"} {
		if round == 1 {
			if err := a.AcquireLock(t.Context(), model, "gone", time.Minute); err != nil {
				t.Fatal(err)
			}
			clock.Advance(2 * time.Minute)
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		won := map[string]int{}
		for i := range 16 {
			wg.Go(func() {
				s, id := stores[i%2], model+string(rune('a'+i))
				lockErr := s.AcquireLock(t.Context(), model, "owner-"+id, time.Minute)
				createErr := s.CreatePromotion(t.Context(), &modelgate.Promotion{ID: id, Model: model, Version: "7"})
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
			t.Errorf("%s: successes %v, want exactly one lock and one create", model, won)
		}
	}
}

// UpdatePromotion cannot reopen a finished promotion next to an active one.
func testUpdateKeepsOneActive(t *testing.T, open opener) {
	s, _ := open(t, nil)
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

// Processes opening a fresh database together apply the migrations once.
func testConcurrentOpen(t *testing.T, dsn string) {
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() {
			db := postgres.NewDB(dsn)
			errs[i] = db.Open(t.Context())
			db.Close()
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Open %d: %v", i, err)
		}
	}
}
