package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/modelgate/modelgate"
)

// AddApproval records an approval, replacing the same role's earlier one for
// that version (revoked or not).
func (s *PromotionStore) AddApproval(ctx context.Context, a *modelgate.Approval) error {
	if a.Model == "" || a.Version == "" || a.Role == "" || a.By == "" {
		return modelgate.Errorf(modelgate.EINVALID, "approval needs a model, a version, a role and an approver")
	}
	err := s.db.update(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO approvals (model, version, role, approved_by, approved_at, recorded_by, source)
			VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (model, version, role) DO UPDATE SET
			approved_by = excluded.approved_by, approved_at = excluded.approved_at,
			recorded_by = excluded.recorded_by, source = excluded.source, revoked = FALSE,
			revoked_by = '', revoked_source = '', revoked_reason = '', revoked_at = NULL`,
			a.Model, a.Version, a.Role, a.By, timeArg(a.At), a.RecordedBy, a.Source)
		return err
	})
	return translate(fmt.Sprintf("add %s approval of %s/%s", a.Role, a.Model, a.Version), err)
}

// RevokeApproval withdraws the role's approval of a version, keeping it
// with the revocation: ENOTFOUND when there is none, ECONFLICT when it is
// revoked already. The row is locked while it is checked, so of two
// concurrent revocations one succeeds and the other finds it revoked.
func (s *PromotionStore) RevokeApproval(ctx context.Context, model, version, role string, r *modelgate.Revocation) error {
	if r == nil || r.By == "" || r.Reason == "" {
		return modelgate.Errorf(modelgate.EINVALID, "a revocation needs who revokes and why")
	}
	op := fmt.Sprintf("revoke %s approval of %s/%s", role, model, version)
	err := s.db.update(ctx, func(tx pgx.Tx) error {
		var revoked bool
		err := tx.QueryRow(ctx, `SELECT revoked FROM approvals WHERE model = $1 AND version = $2 AND role = $3
			FOR UPDATE`, model, version, role).Scan(&revoked)
		switch {
		case isNoRows(err):
			return modelgate.Errorf(modelgate.ENOTFOUND, "%s version %s has no approval by the %s to revoke", model, version, role)
		case err != nil:
			return err
		case revoked:
			return modelgate.Errorf(modelgate.ECONFLICT, "the %s's approval of %s version %s was revoked already", role, model, version)
		}
		_, err = tx.Exec(ctx, `UPDATE approvals SET revoked = TRUE, revoked_by = $1, revoked_source = $2,
			revoked_reason = $3, revoked_at = $4 WHERE model = $5 AND version = $6 AND role = $7`,
			r.By, r.Source, r.Reason, timeArg(r.At), model, version, role)
		return err
	})
	return translate(op, err)
}

// Approvals lists a version's approvals, revoked ones included, sorted by
// role.
func (s *PromotionStore) Approvals(ctx context.Context, model, version string) ([]*modelgate.Approval, error) {
	var approvals []*modelgate.Approval
	err := s.db.view(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT model, version, role, approved_by, approved_at, recorded_by, source,
			revoked, revoked_by, revoked_source, revoked_reason, revoked_at
			FROM approvals WHERE model = $1 AND version = $2 ORDER BY role COLLATE "C"`, model, version)
		if err != nil {
			return err
		}
		approvals, err = pgx.CollectRows(rows, scanApproval)
		return err
	})
	return approvals, translate(fmt.Sprintf("list approvals of %s/%s", model, version), err)
}

func scanApproval(row pgx.CollectableRow) (*modelgate.Approval, error) {
	var a modelgate.Approval
	var r modelgate.Revocation
	var revoked bool
	var at, revokedAt pgtype.Timestamptz
	if err := row.Scan(&a.Model, &a.Version, &a.Role, &a.By, &at, &a.RecordedBy, &a.Source,
		&revoked, &r.By, &r.Source, &r.Reason, &revokedAt); err != nil {
		return nil, err
	}
	a.At, r.At = timeOf(at), timeOf(revokedAt)
	if revoked {
		a.Revoked = &r
	}
	return &a, nil
}
