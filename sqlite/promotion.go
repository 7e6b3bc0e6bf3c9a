package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/modelgate/modelgate"
)

// PromotionStore persists promotions, their step records and actions, the
// per-model promotion locks and approvals, so a crashed promotion can resume.
type PromotionStore struct {
	db *DB
}

var _ modelgate.PromotionStore = (*PromotionStore)(nil)

// NewPromotionStore returns a store in db, which must be open before use.
func NewPromotionStore(db *DB) *PromotionStore {
	return &PromotionStore{db: db}
}

const promotionColumns = `id, model, version, previous, step, outcome, reasons, error, actor,
	started_at, updated_at, ended_at, canary_start, extended, config_hash, audit_anchor`

// CreatePromotion stores p, refusing with ECONFLICT if the model already has
// an active promotion. The check and the insert share one write transaction,
// and a partial unique index backs it up.
func (s *PromotionStore) CreatePromotion(ctx context.Context, p *modelgate.Promotion) error {
	if err := validatePromotion(p); err != nil {
		return err
	}
	args, err := promotionArgs(p)
	if err != nil {
		return err
	}
	err = s.db.update(ctx, func(tx *sql.Tx) error {
		if err := checkNoActive(ctx, tx, p.Model); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO promotions (`+promotionColumns+`) VALUES (`+placeholders(16)+`)`, args...)
		if isUnique(err) {
			return modelgate.Errorf(modelgate.ECONFLICT, "promotion %s already exists", p.ID)
		}
		return err
	})
	return translate("create promotion "+p.ID, err)
}

func validatePromotion(p *modelgate.Promotion) error {
	switch {
	case p.ID == "":
		return modelgate.Errorf(modelgate.EINVALID, "promotion id required")
	case p.Model == "":
		return modelgate.Errorf(modelgate.EINVALID, "promotion %s: model required", p.ID)
	case p.Version == "":
		return modelgate.Errorf(modelgate.EINVALID, "promotion %s: version required", p.ID)
	}
	return nil
}

// checkNoActive returns ECONFLICT naming the model's active promotion, if any.
func checkNoActive(ctx context.Context, tx *sql.Tx, model string) error {
	active, err := activePromotion(ctx, tx, model)
	if modelgate.ErrorCode(err) == modelgate.ENOTFOUND {
		return nil
	} else if err != nil {
		return err
	}
	return modelgate.Errorf(modelgate.ECONFLICT,
		"model %s already has an active promotion: %s of version %s (step %s)",
		model, active.ID, active.Version, active.Step).
		WithHint("wait for it to finish, or resume or abort it")
}

// UpdatePromotion overwrites a stored promotion. ENOTFOUND if it is missing;
// ECONFLICT if it would make a second promotion of the model active.
func (s *PromotionStore) UpdatePromotion(ctx context.Context, p *modelgate.Promotion) error {
	if err := validatePromotion(p); err != nil {
		return err
	}
	args, err := promotionArgs(p)
	if err != nil {
		return err
	}
	err = s.db.update(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE promotions SET (`+promotionColumns+`) = (`+placeholders(16)+`)
			WHERE id = ?`, append(args, p.ID)...)
		if isUnique(err) {
			return modelgate.Errorf(modelgate.ECONFLICT, "model %s already has another active promotion", p.Model)
		} else if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return promotionNotFound(p.ID)
		}
		return nil
	})
	return translate("update promotion "+p.ID, err)
}

// GetPromotion returns one promotion. ENOTFOUND if missing.
func (s *PromotionStore) GetPromotion(ctx context.Context, id string) (*modelgate.Promotion, error) {
	var p *modelgate.Promotion
	err := s.db.view(ctx, func(tx *sql.Tx) error {
		ps, err := queryPromotions(ctx, tx, `WHERE id = ?`, id)
		if err == nil && len(ps) == 0 {
			err = promotionNotFound(id)
		}
		if err == nil {
			p = ps[0]
		}
		return err
	})
	return p, translate("get promotion "+id, err)
}

// ActivePromotion returns the model's unfinished promotion. ENOTFOUND if none.
func (s *PromotionStore) ActivePromotion(ctx context.Context, model string) (*modelgate.Promotion, error) {
	var p *modelgate.Promotion
	err := s.db.view(ctx, func(tx *sql.Tx) error {
		var err error
		p, err = activePromotion(ctx, tx, model)
		return err
	})
	return p, translate("get active promotion of "+model, err)
}

func activePromotion(ctx context.Context, tx *sql.Tx, model string) (*modelgate.Promotion, error) {
	ps, err := queryPromotions(ctx, tx, `WHERE model = ? AND outcome IN (?, ?)`,
		model, string(modelgate.OutcomeNone), string(modelgate.OutcomeHeld))
	if err != nil {
		return nil, err
	}
	if len(ps) == 0 {
		return nil, modelgate.Errorf(modelgate.ENOTFOUND, "model %s has no active promotion", model)
	}
	return ps[0], nil
}

// ListPromotions returns a model's promotions, or every model's if model is
// "", newest first.
func (s *PromotionStore) ListPromotions(ctx context.Context, model string) ([]*modelgate.Promotion, error) {
	var ps []*modelgate.Promotion
	err := s.db.view(ctx, func(tx *sql.Tx) error {
		var err error
		ps, err = queryPromotions(ctx, tx, `WHERE ? = '' OR model = ? ORDER BY started_at DESC, rowid DESC`, model, model)
		return err
	})
	return ps, translate("list promotions", err)
}

func promotionNotFound(id string) error {
	return modelgate.Errorf(modelgate.ENOTFOUND, "promotion %s not found", id)
}

// promotionArgs returns p's columns in promotionColumns order.
func promotionArgs(p *modelgate.Promotion) ([]any, error) {
	reasons := p.Reasons
	if reasons == nil {
		reasons = []string{}
	}
	reasonsJSON, err := json.Marshal(reasons)
	if err != nil {
		return nil, fmt.Errorf("encode reasons: %w", err)
	}
	return []any{p.ID, p.Model, p.Version, p.Previous, string(p.Step), string(p.Outcome), string(reasonsJSON),
		p.Error, p.Actor, formatTime(p.StartedAt), formatTime(p.UpdatedAt), formatTime(p.EndedAt),
		formatTime(p.CanaryStart), p.Extended, p.ConfigHash, p.AuditAnchor}, nil
}

// queryPromotions selects promotions with the given WHERE/ORDER clause.
func queryPromotions(ctx context.Context, tx *sql.Tx, clause string, args ...any) ([]*modelgate.Promotion, error) {
	rows, err := tx.QueryContext(ctx, `SELECT `+promotionColumns+` FROM promotions `+clause, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ps []*modelgate.Promotion
	for rows.Next() {
		p, err := scanPromotion(rows)
		if err != nil {
			return nil, err
		}
		ps = append(ps, p)
	}
	return ps, rows.Err()
}

func scanPromotion(rows *sql.Rows) (*modelgate.Promotion, error) {
	var p modelgate.Promotion
	var step, outcome, reasons, started, updated, ended, canary string
	err := rows.Scan(&p.ID, &p.Model, &p.Version, &p.Previous, &step, &outcome, &reasons, &p.Error, &p.Actor,
		&started, &updated, &ended, &canary, &p.Extended, &p.ConfigHash, &p.AuditAnchor)
	if err != nil {
		return nil, err
	}
	p.Step, p.Outcome = modelgate.Step(step), modelgate.Outcome(outcome)
	if err := json.Unmarshal([]byte(reasons), &p.Reasons); err != nil {
		return nil, fmt.Errorf("decode reasons of promotion %s: %w", p.ID, err)
	}
	if len(p.Reasons) == 0 {
		p.Reasons = nil
	}
	err = parseTimes(map[*time.Time]string{&p.StartedAt: started, &p.UpdatedAt: updated,
		&p.EndedAt: ended, &p.CanaryStart: canary})
	return &p, err
}
