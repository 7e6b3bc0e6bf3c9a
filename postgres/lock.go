package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/modelgate/modelgate"
)

// AcquireLock takes the model's promotion lock for owner until ttl from now.
// It succeeds if the lock is free, expired, or already owner's (extending
// it); otherwise ECONFLICT names the holder and when the lock expires.
//
// The take-over is one conditional upsert: PostgreSQL inserts the row, or
// locks the existing one and updates it only when owner holds it or it has
// expired. Two processes racing for a free or expired lock therefore
// serialise on that row and exactly one wins; the loser's statement
// updates nothing, and reads the winner under the row lock it kept.
func (s *PromotionStore) AcquireLock(ctx context.Context, model, owner string, ttl time.Duration) error {
	if model == "" || owner == "" {
		return modelgate.Errorf(modelgate.EINVALID, "lock needs a model and an owner")
	}
	if ttl <= 0 {
		return modelgate.Errorf(modelgate.EINVALID, "lock ttl must be positive, got %s", ttl)
	}
	err := s.db.update(ctx, func(tx pgx.Tx) error {
		now := s.db.Now()
		tag, err := tx.Exec(ctx, `INSERT INTO promotion_locks (model, owner, acquired_at, expires_at)
			VALUES ($1, $2, $3, $4) ON CONFLICT (model) DO UPDATE SET owner = excluded.owner,
			acquired_at = excluded.acquired_at, expires_at = excluded.expires_at
			WHERE promotion_locks.owner = excluded.owner OR promotion_locks.expires_at <= excluded.acquired_at`,
			model, owner, now.UTC(), now.Add(ttl).UTC())
		if err != nil || tag.RowsAffected() == 1 {
			return err
		}
		return lockConflict(ctx, tx, model, now)
	})
	return translate(fmt.Sprintf("acquire lock on %s for %s", model, owner), err)
}

// lockConflict returns the ECONFLICT naming model's current holder.
func lockConflict(ctx context.Context, tx pgx.Tx, model string, now time.Time) error {
	var holder string
	var expires time.Time
	err := tx.QueryRow(ctx, `SELECT owner, expires_at FROM promotion_locks WHERE model = $1`, model).Scan(&holder, &expires)
	if err != nil {
		return fmt.Errorf("read lock holder: %w", err)
	}
	expires = expires.UTC()
	return modelgate.Errorf(modelgate.ECONFLICT, "model %s is locked by %s until %s (%s from now)",
		model, holder, expires.Format(time.RFC3339), expires.Sub(now).Round(time.Second)).
		WithHint("another promotion of this model is running; an abandoned lock expires by itself")
}

// ReleaseLock frees the lock if owner holds it; otherwise it does nothing, so
// a process whose lock was taken over cannot free its successor's.
func (s *PromotionStore) ReleaseLock(ctx context.Context, model, owner string) error {
	err := s.deleteLock(ctx, model, owner)
	return translate(fmt.Sprintf("release lock on %s for %s", model, owner), err)
}

// LockHolder returns who holds model's unexpired lock and until when; ""
// when the lock is free or expired.
func (s *PromotionStore) LockHolder(ctx context.Context, model string) (string, time.Time, error) {
	var owner string
	var expires time.Time
	err := s.db.view(ctx, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT owner, expires_at FROM promotion_locks WHERE model = $1`, model).Scan(&owner, &expires)
	})
	if isNoRows(err) {
		return "", time.Time{}, nil
	} else if err != nil {
		return "", time.Time{}, translate("read lock on "+model, err)
	}
	if !s.db.Now().Before(expires) {
		return "", time.Time{}, nil
	}
	return owner, expires.UTC(), nil
}

// BreakLock frees model's lock if holder still holds it, in one statement,
// so a holder that renewed meanwhile under another name is not disturbed.
func (s *PromotionStore) BreakLock(ctx context.Context, model, holder string) error {
	err := s.deleteLock(ctx, model, holder)
	return translate(fmt.Sprintf("break lock on %s held by %s", model, holder), err)
}

// deleteLock deletes model's lock only if owner holds it (compare and
// delete in one statement).
func (s *PromotionStore) deleteLock(ctx context.Context, model, owner string) error {
	return s.db.update(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `DELETE FROM promotion_locks WHERE model = $1 AND owner = $2`, model, owner)
		return err
	})
}
