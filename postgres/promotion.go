package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/modelgate/modelgate"
)

// PromotionStore persists promotions, their step records and actions, the
// per-model promotion locks, abort requests and approvals in PostgreSQL, so
// a crashed promotion can resume from any host that reaches the database.
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

const promotionParams = `$1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16`

// CreatePromotion stores p, refusing with ECONFLICT if the model already has
// an active promotion. The transaction first takes an advisory lock on the
// model, so concurrent creators check and insert one after the other (as
// SQLite's BEGIN IMMEDIATE makes them); a partial unique index backs it up.
func (s *PromotionStore) CreatePromotion(ctx context.Context, p *modelgate.Promotion) error {
	if err := validatePromotion(p); err != nil {
		return err
	}
	err := s.db.update(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('promotion:' || $1, 0))`, p.Model); err != nil {
			return err
		}
		if err := checkNoActive(ctx, tx, p.Model); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO promotions (`+promotionColumns+`) VALUES (`+promotionParams+`)`,
			promotionArgs(p)...)
		return uniqueToConflict(err, p)
	})
	return translate("create promotion "+p.ID, err)
}

// uniqueToConflict turns the unique indexes' refusals into ECONFLICT.
func uniqueToConflict(err error, p *modelgate.Promotion) error {
	name, ok := constraint(err, uniqueViolation)
	switch {
	case !ok:
		return err
	case name == "promotions_one_active":
		return modelgate.Errorf(modelgate.ECONFLICT, "model %s already has another active promotion", p.Model)
	}
	return modelgate.Errorf(modelgate.ECONFLICT, "promotion %s already exists", p.ID)
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
func checkNoActive(ctx context.Context, tx pgx.Tx, model string) error {
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
	err := s.db.update(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE promotions SET (`+promotionColumns+`) = (`+promotionParams+`)
			WHERE id = $1`, promotionArgs(p)...)
		if isUnique(err) {
			return modelgate.Errorf(modelgate.ECONFLICT, "model %s already has another active promotion", p.Model)
		} else if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return promotionNotFound(p.ID)
		}
		return nil
	})
	return translate("update promotion "+p.ID, err)
}

// GetPromotion returns one promotion. ENOTFOUND if missing.
func (s *PromotionStore) GetPromotion(ctx context.Context, id string) (*modelgate.Promotion, error) {
	var p *modelgate.Promotion
	err := s.db.view(ctx, func(tx pgx.Tx) error {
		ps, err := queryPromotions(ctx, tx, `WHERE id = $1`, id)
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
	err := s.db.view(ctx, func(tx pgx.Tx) error {
		var err error
		p, err = activePromotion(ctx, tx, model)
		return err
	})
	return p, translate("get active promotion of "+model, err)
}

func activePromotion(ctx context.Context, tx pgx.Tx, model string) (*modelgate.Promotion, error) {
	ps, err := queryPromotions(ctx, tx, `WHERE model = $1 AND outcome IN ($2, $3)`,
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
// "", newest first (ties: the later created first). Promotions without a
// start time come last, as in sqlite, where they sort as "".
func (s *PromotionStore) ListPromotions(ctx context.Context, model string) ([]*modelgate.Promotion, error) {
	var ps []*modelgate.Promotion
	err := s.db.view(ctx, func(tx pgx.Tx) error {
		var err error
		ps, err = queryPromotions(ctx, tx, `WHERE $1 = '' OR model = $1
			ORDER BY started_at DESC NULLS LAST, seq DESC`, model)
		return err
	})
	return ps, translate("list promotions", err)
}

func promotionNotFound(id string) error {
	return modelgate.Errorf(modelgate.ENOTFOUND, "promotion %s not found", id)
}

// promotionArgs returns p's columns in promotionColumns order.
func promotionArgs(p *modelgate.Promotion) []any {
	reasons := p.Reasons
	if reasons == nil {
		reasons = []string{} // the column is NOT NULL; nil would encode as NULL
	}
	return []any{p.ID, p.Model, p.Version, p.Previous, string(p.Step), string(p.Outcome), reasons,
		p.Error, p.Actor, timeArg(p.StartedAt), timeArg(p.UpdatedAt), timeArg(p.EndedAt),
		timeArg(p.CanaryStart), p.Extended, p.ConfigHash, p.AuditAnchor}
}

// queryPromotions selects promotions with the given WHERE/ORDER clause.
func queryPromotions(ctx context.Context, tx pgx.Tx, clause string, args ...any) ([]*modelgate.Promotion, error) {
	rows, err := tx.Query(ctx, `SELECT `+promotionColumns+` FROM promotions `+clause, args...)
	if err != nil {
		return nil, err
	}
	ps, err := pgx.CollectRows(rows, scanPromotion)
	if err != nil {
		return nil, fmt.Errorf("read promotions: %w", err)
	}
	return ps, nil
}

func scanPromotion(row pgx.CollectableRow) (*modelgate.Promotion, error) {
	var p modelgate.Promotion
	var step, outcome string
	var started, updated, ended, canary pgtype.Timestamptz
	err := row.Scan(&p.ID, &p.Model, &p.Version, &p.Previous, &step, &outcome, &p.Reasons, &p.Error, &p.Actor,
		&started, &updated, &ended, &canary, &p.Extended, &p.ConfigHash, &p.AuditAnchor)
	if err != nil {
		return nil, err
	}
	p.Step, p.Outcome = modelgate.Step(step), modelgate.Outcome(outcome)
	if len(p.Reasons) == 0 {
		p.Reasons = nil
	}
	p.StartedAt, p.UpdatedAt, p.EndedAt, p.CanaryStart = timeOf(started), timeOf(updated), timeOf(ended), timeOf(canary)
	return &p, nil
}
