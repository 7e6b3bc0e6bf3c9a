package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/modelgate/modelgate"
)

// AddApproval records an approval, replacing the same role's earlier one for
// that version.
func (s *PromotionStore) AddApproval(ctx context.Context, a *modelgate.Approval) error {
	if a.Model == "" || a.Version == "" || a.Role == "" || a.By == "" {
		return modelgate.Errorf(modelgate.EINVALID, "approval needs a model, a version, a role and an approver")
	}
	err := s.db.update(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO approvals (model, version, role, approved_by, approved_at)
			VALUES (?, ?, ?, ?, ?) ON CONFLICT (model, version, role) DO UPDATE SET
			approved_by = excluded.approved_by, approved_at = excluded.approved_at`,
			a.Model, a.Version, a.Role, a.By, formatTime(a.At))
		return err
	})
	return translate(fmt.Sprintf("add %s approval of %s/%s", a.Role, a.Model, a.Version), err)
}

// Approvals lists a version's approvals, sorted by role.
func (s *PromotionStore) Approvals(ctx context.Context, model, version string) ([]*modelgate.Approval, error) {
	var approvals []*modelgate.Approval
	err := s.db.view(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT model, version, role, approved_by, approved_at
			FROM approvals WHERE model = ? AND version = ? ORDER BY role`, model, version)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var a modelgate.Approval
			var at string
			if err := rows.Scan(&a.Model, &a.Version, &a.Role, &a.By, &at); err != nil {
				return err
			}
			if a.At, err = parseTime(at); err != nil {
				return err
			}
			approvals = append(approvals, &a)
		}
		return rows.Err()
	})
	return approvals, translate(fmt.Sprintf("list approvals of %s/%s", model, version), err)
}
