package promotion_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/audit"
	"github.com/modelgate/modelgate/promotion"
)

// crash is the panic value a crashingStore throws to simulate the process
// dying right after a write reached the database, or right after an external
// action and before it was recorded as done.
type crash struct{}

// crashingStore crashes after its n-th persisted write.
type crashingStore struct {
	modelgate.PromotionStore
	n, writes int
}

func (s *crashingStore) wrote(err error) error {
	if err == nil {
		s.point()
	}
	return err
}

// point is one place where the process may die.
func (s *crashingStore) point() {
	s.writes++
	if s.writes == s.n {
		panic(crash{})
	}
}

func (s *crashingStore) CreatePromotion(ctx context.Context, p *modelgate.Promotion) error {
	return s.wrote(s.PromotionStore.CreatePromotion(ctx, p))
}
func (s *crashingStore) UpdatePromotion(ctx context.Context, p *modelgate.Promotion) error {
	return s.wrote(s.PromotionStore.UpdatePromotion(ctx, p))
}
func (s *crashingStore) SaveStep(ctx context.Context, r *modelgate.StepRecord) error {
	return s.wrote(s.PromotionStore.SaveStep(ctx, r))
}
func (s *crashingStore) SetAction(ctx context.Context, id, action, state string) error {
	if state == modelgate.ActionDone {
		s.point() // the action took effect but was not yet recorded as done
	}
	return s.wrote(s.PromotionStore.SetAction(ctx, id, action, state))
}

// runUntilCrash runs a promotion and reports whether it crashed.
func runUntilCrash(w *world, version string, n int) (crashed bool, err error) {
	store := &crashingStore{PromotionStore: w.store, n: n}
	svc := w.service("first")
	svc.Store = store
	defer func() {
		if r := recover(); r != nil {
			if _, ok := r.(crash); !ok {
				panic(r)
			}
			crashed = true
		}
	}()
	ctx := context.Background()
	p, err := svc.Start(ctx, model, version)
	if err != nil {
		return false, err
	}
	_, err = svc.Run(ctx, p)
	return false, err
}

// A crash right after each persisted write (and between every external action
// and its "done" record), then a run of a new process,
// ends in the same state as an uninterrupted run, and every external action
// is taken exactly as often as in the uninterrupted run.
func TestPromote_CrashAfterEveryWriteResumes(t *testing.T) {
	for _, tc := range []struct {
		name    string
		version string
		mode    promotion.Mode
	}{{"stage/promoted", "2", promotion.StageMode{}}, {"stage/rolled_back", "3", promotion.StageMode{}}, {"alias/promoted", "2", promotion.DefaultAliasMode()}} {
		version := tc.version
		t.Run(tc.name, func(t *testing.T) {
			ref := newModeWorld(t, tc.mode)
			run(t, ref.service("ref"), version)
			want, wantCalls, wantReg := ref.state(t, version), ref.dep.calls, ref.reg.calls
			for n := 1; ; n++ {
				w := newModeWorld(t, tc.mode)
				crashed, err := runUntilCrash(w, version, n)
				if err != nil {
					t.Fatalf("crash point %d: %v", n, err)
				}
				if !crashed {
					if n < 10 {
						t.Fatalf("only %d writes: the crash points did not cover the run", n)
					}
					t.Logf("%d crash points checked", n-1)
					return
				}
				w.clock.Advance(10 * time.Minute) // the crashed process's lock expires
				resume(t, w, version)
				if diff := cmp.Diff(want, w.state(t, version)); diff != "" {
					t.Fatalf("crash after write %d: final state differs (-want +got):\n%s", n, diff)
				}
				if diff := cmp.Diff(wantCalls, w.dep.calls); diff != "" {
					t.Fatalf("crash after write %d: platform calls differ (-want +got):\n%s", n, diff)
				}
				if diff := cmp.Diff(wantReg, w.reg.calls); diff != "" {
					t.Fatalf("crash after write %d: registry calls differ (-want +got):\n%s", n, diff)
				}
				if _, err := audit.Verify(w.audit.Path); err != nil {
					t.Fatalf("crash after write %d: audit trail: %v", n, err)
				}
			}
		})
	}
}

// resume is what the next run does: promote the same version again, which
// resumes the unfinished promotion or starts it if none was recorded.
func resume(t *testing.T, w *world, version string) {
	t.Helper()
	ctx := context.Background()
	if ps, _ := w.store.ListPromotions(ctx, model); len(ps) > 0 && !ps[0].Active() {
		return // the crash came after the last write: nothing left to do
	}
	svc := w.service("second")
	p, err := svc.Start(ctx, model, version)
	if err != nil {
		t.Fatalf("resume: %v", err)
	}
	if _, err := svc.Run(ctx, p); err != nil && !errors.Is(err, context.Canceled) {
		t.Fatalf("resumed run: %v", err)
	}
}

// stepFinishCrash crashes right after the step record of step is saved as
// finished, before the promotion moves on.
type stepFinishCrash struct {
	modelgate.PromotionStore
	step modelgate.Step
}

func (s *stepFinishCrash) SaveStep(ctx context.Context, r *modelgate.StepRecord) error {
	err := s.PromotionStore.SaveStep(ctx, r)
	if err == nil && r.Step == s.step && !r.EndedAt.IsZero() {
		panic(crash{})
	}
	return err
}

// A rollback decided before a crash stays a rollback on resume, even if the
// canary's figures would now pass: the recorded decision is followed.
func TestPromote_DecisionSurvivesCrash(t *testing.T) {
	w := newWorld(t)
	svc := w.service("first")
	svc.Store = &stepFinishCrash{PromotionStore: w.store, step: modelgate.StepWindow}
	func() {
		defer func() {
			if r := recover(); r == nil {
				t.Fatal("no crash at the window's decision")
			}
		}()
		p, err := svc.Start(context.Background(), model, "3")
		if err != nil {
			t.Fatal(err)
		}
		_, _ = svc.Run(context.Background(), p)
	}()
	w.fixed3 = true
	w.clock.Advance(10 * time.Minute)
	resume(t, w, "3")
	if got := w.state(t, "3"); got.Outcome != modelgate.OutcomeRolledBack || got.Split.Stable != "1" {
		t.Fatalf("after resume: %+v, want rolled back to 1", got)
	}
}
