package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/modelgate/modelgate"
)

// AcquireLock takes the model's promotion lock for owner until ttl from now.
// It succeeds if the lock is free, expired, or already owner's (extending
// it); otherwise ECONFLICT names the holder and when the lock expires. The
// read and the write share one BEGIN IMMEDIATE transaction, so two processes
// cannot both succeed.
func (s *PromotionStore) AcquireLock(ctx context.Context, model, owner string, ttl time.Duration) error {
	if model == "" || owner == "" {
		return modelgate.Errorf(modelgate.EINVALID, "lock needs a model and an owner")
	}
	if ttl <= 0 {
		return modelgate.Errorf(modelgate.EINVALID, "lock ttl must be positive, got %s", ttl)
	}
	err := s.db.update(ctx, func(tx *sql.Tx) error {
		now := s.db.Now()
		if err := checkLockFree(ctx, tx, model, owner, now); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO promotion_locks (model, owner, acquired_at, expires_at)
			VALUES (?, ?, ?, ?) ON CONFLICT (model) DO UPDATE SET owner = excluded.owner,
			acquired_at = excluded.acquired_at, expires_at = excluded.expires_at`,
			model, owner, formatTime(now), formatTime(now.Add(ttl)))
		return err
	})
	return translate(fmt.Sprintf("acquire lock on %s for %s", model, owner), err)
}

// checkLockFree returns ECONFLICT if someone other than owner holds an
// unexpired lock on model.
func checkLockFree(ctx context.Context, tx *sql.Tx, model, owner string, now time.Time) error {
	var holder, expiresText string
	err := tx.QueryRowContext(ctx, `SELECT owner, expires_at FROM promotion_locks WHERE model = ?`, model).
		Scan(&holder, &expiresText)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	} else if err != nil {
		return err
	}
	expires, err := parseTime(expiresText)
	if err != nil {
		return err
	}
	if holder == owner || !now.Before(expires) {
		return nil
	}
	return modelgate.Errorf(modelgate.ECONFLICT, "model %s is locked by %s until %s (%s from now)",
		model, holder, expires.Format(time.RFC3339), expires.Sub(now).Round(time.Second)).
		WithHint("another promotion of this model is running; an abandoned lock expires by itself")
}

// ReleaseLock frees the lock if owner holds it; otherwise it does nothing, so
// a process whose lock was taken over cannot free its successor's.
func (s *PromotionStore) ReleaseLock(ctx context.Context, model, owner string) error {
	err := s.db.update(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM promotion_locks WHERE model = ? AND owner = ?`, model, owner)
		return err
	})
	return translate(fmt.Sprintf("release lock on %s for %s", model, owner), err)
}

// LockHolder returns who holds model's unexpired lock and until when; ""
// when the lock is free or expired.
func (s *PromotionStore) LockHolder(ctx context.Context, model string) (string, time.Time, error) {
	var owner, expiresText string
	err := s.db.view(ctx, func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, `SELECT owner, expires_at FROM promotion_locks WHERE model = ?`, model).Scan(&owner, &expiresText)
	})
	if errors.Is(err, sql.ErrNoRows) {
		return "", time.Time{}, nil
	} else if err != nil {
		return "", time.Time{}, translate("read lock on "+model, err)
	}
	expires, err := parseTime(expiresText)
	if err != nil {
		return "", time.Time{}, translate("read lock on "+model, err)
	}
	if !s.db.Now().Before(expires) {
		return "", time.Time{}, nil
	}
	return owner, expires, nil
}

// BreakLock frees model's lock if holder still holds it, in one statement,
// so a holder that renewed meanwhile under another name is not disturbed.
func (s *PromotionStore) BreakLock(ctx context.Context, model, holder string) error {
	err := s.db.update(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM promotion_locks WHERE model = ? AND owner = ?`, model, holder)
		return err
	})
	return translate(fmt.Sprintf("break lock on %s held by %s", model, holder), err)
}
