package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/modelgate/modelgate"
)

// AddApproval records an approval, replacing the same role's earlier one for
// that version (revoked or not).
func (s *PromotionStore) AddApproval(ctx context.Context, a *modelgate.Approval) error {
	if a.Model == "" || a.Version == "" || a.Role == "" || a.By == "" {
		return modelgate.Errorf(modelgate.EINVALID, "approval needs a model, a version, a role and an approver")
	}
	err := s.db.update(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO approvals (model, version, role, approved_by, approved_at, recorded_by, source)
			VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (model, version, role) DO UPDATE SET
			approved_by = excluded.approved_by, approved_at = excluded.approved_at,
			recorded_by = excluded.recorded_by, source = excluded.source,
			revoked_by = '', revoked_source = '', revoked_reason = '', revoked_at = ''`,
			a.Model, a.Version, a.Role, a.By, formatTime(a.At), a.RecordedBy, a.Source)
		return err
	})
	return translate(fmt.Sprintf("add %s approval of %s/%s", a.Role, a.Model, a.Version), err)
}

// RevokeApproval withdraws the role's approval of a version, keeping it
// with the revocation: ENOTFOUND when there is none, ECONFLICT when it is
// revoked already.
func (s *PromotionStore) RevokeApproval(ctx context.Context, model, version, role string, r *modelgate.Revocation) error {
	if r == nil || r.By == "" || r.Reason == "" {
		return modelgate.Errorf(modelgate.EINVALID, "a revocation needs who revokes and why")
	}
	op := fmt.Sprintf("revoke %s approval of %s/%s", role, model, version)
	err := s.db.update(ctx, func(tx *sql.Tx) error {
		var revokedAt string
		err := tx.QueryRowContext(ctx, `SELECT revoked_at FROM approvals WHERE model = ? AND version = ? AND role = ?`,
			model, version, role).Scan(&revokedAt)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return modelgate.Errorf(modelgate.ENOTFOUND, "%s version %s has no approval by the %s to revoke", model, version, role)
		case err != nil:
			return err
		case revokedAt != "":
			return modelgate.Errorf(modelgate.ECONFLICT, "the %s's approval of %s version %s was revoked already", role, model, version)
		}
		_, err = tx.ExecContext(ctx, `UPDATE approvals SET revoked_by = ?, revoked_source = ?, revoked_reason = ?, revoked_at = ?
			WHERE model = ? AND version = ? AND role = ?`, r.By, r.Source, r.Reason, formatTime(r.At), model, version, role)
		return err
	})
	return translate(op, err)
}

// Approvals lists a version's approvals, revoked ones included, sorted by
// role.
func (s *PromotionStore) Approvals(ctx context.Context, model, version string) ([]*modelgate.Approval, error) {
	var approvals []*modelgate.Approval
	err := s.db.view(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT model, version, role, approved_by, approved_at, recorded_by, source,
			revoked_by, revoked_source, revoked_reason, revoked_at
			FROM approvals WHERE model = ? AND version = ? ORDER BY role`, model, version)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			a, err := scanApproval(rows)
			if err != nil {
				return err
			}
			approvals = append(approvals, a)
		}
		return rows.Err()
	})
	return approvals, translate(fmt.Sprintf("list approvals of %s/%s", model, version), err)
}

func scanApproval(rows *sql.Rows) (*modelgate.Approval, error) {
	var a modelgate.Approval
	var r modelgate.Revocation
	var at, revokedAt string
	if err := rows.Scan(&a.Model, &a.Version, &a.Role, &a.By, &at, &a.RecordedBy, &a.Source,
		&r.By, &r.Source, &r.Reason, &revokedAt); err != nil {
		return nil, err
	}
	if err := parseTimes(map[*time.Time]string{&a.At: at, &r.At: revokedAt}); err != nil {
		return nil, err
	}
	if revokedAt != "" {
		a.Revoked = &r
	}
	return &a, nil
}
