package postgres

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/modelgate/modelgate"
)

// SaveStep inserts or replaces the record of (PromotionID, Step). ENOTFOUND
// if the promotion is missing; EINVALID if Evidence is not JSON.
func (s *PromotionStore) SaveStep(ctx context.Context, r *modelgate.StepRecord) error {
	if err := validateStep(r); err != nil {
		return err
	}
	inputs, err := encodeInputs(r.Inputs)
	if err != nil {
		return err
	}
	// The JSON goes over the wire as text and is cast on the server, so
	// the evidence document is stored (and read back) byte for byte.
	err = s.db.update(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO promotion_steps
			(promotion_id, step, started_at, ended_at, inputs, outcome, evidence)
			VALUES ($1, $2, $3, $4, $5::text::json, $6, $7::text::json)
			ON CONFLICT (promotion_id, step) DO UPDATE SET started_at = excluded.started_at,
				ended_at = excluded.ended_at, inputs = excluded.inputs, outcome = excluded.outcome,
				evidence = excluded.evidence`,
			r.PromotionID, string(r.Step), timeArg(r.StartedAt), timeArg(r.EndedAt),
			inputs, string(r.Outcome), nullJSON(r.Evidence))
		if isForeignKey(err) {
			return promotionNotFound(r.PromotionID)
		}
		return err
	})
	return translate(fmt.Sprintf("save step %s of promotion %s", r.Step, r.PromotionID), err)
}

func validateStep(r *modelgate.StepRecord) error {
	switch {
	case r.PromotionID == "" || r.Step == "":
		return modelgate.Errorf(modelgate.EINVALID, "step record needs a promotion id and a step")
	case r.Evidence != nil && !json.Valid(r.Evidence):
		return modelgate.Errorf(modelgate.EINVALID, "step %s: evidence is not valid JSON", r.Step)
	}
	return nil
}

// encodeInputs stores empty inputs as NULL.
func encodeInputs(in modelgate.StepInputs) (*string, error) {
	if in.ConfigHash == "" && len(in.Settings) == 0 {
		return nil, nil
	}
	b, err := json.Marshal(in)
	if err != nil {
		return nil, modelgate.Errorf(modelgate.EINVALID, "encode step inputs: %v", err)
	}
	text := string(b)
	return &text, nil
}

// nullJSON stores an absent document as NULL, so it reads back as nil.
func nullJSON(m json.RawMessage) *string {
	if m == nil {
		return nil
	}
	text := string(m)
	return &text
}

// Steps returns a promotion's step records in the order they started (ties
// in the order they were first saved; records without a start first, as in
// sqlite).
func (s *PromotionStore) Steps(ctx context.Context, promotionID string) ([]*modelgate.StepRecord, error) {
	var records []*modelgate.StepRecord
	err := s.db.view(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT promotion_id, step, started_at, ended_at, inputs::text, outcome, evidence::text
			FROM promotion_steps WHERE promotion_id = $1 ORDER BY started_at NULLS FIRST, seq`, promotionID)
		if err != nil {
			return err
		}
		records, err = pgx.CollectRows(rows, scanStep)
		return err
	})
	return records, translate("list steps of promotion "+promotionID, err)
}

func scanStep(row pgx.CollectableRow) (*modelgate.StepRecord, error) {
	var r modelgate.StepRecord
	var step, outcome string
	var started, ended pgtype.Timestamptz
	var inputs, evidence *string
	if err := row.Scan(&r.PromotionID, &step, &started, &ended, &inputs, &outcome, &evidence); err != nil {
		return nil, err
	}
	r.Step, r.Outcome = modelgate.Step(step), modelgate.StepResult(outcome)
	if inputs != nil {
		// Inputs of other versions' shapes read as empty: they are
		// informative, never a reason to refuse a record.
		_ = json.Unmarshal([]byte(*inputs), &r.Inputs)
	}
	if evidence != nil {
		r.Evidence = json.RawMessage(*evidence)
	}
	r.StartedAt, r.EndedAt = timeOf(started), timeOf(ended)
	return &r, nil
}

// SetAction records the state of a named external action. ENOTFOUND if the
// promotion is missing.
func (s *PromotionStore) SetAction(ctx context.Context, promotionID, action, state string) error {
	if action == "" || state == "" {
		return modelgate.Errorf(modelgate.EINVALID, "action and state required")
	}
	err := s.db.update(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO promotion_actions (promotion_id, action, state, updated_at)
			VALUES ($1, $2, $3, $4) ON CONFLICT (promotion_id, action) DO UPDATE SET
			state = excluded.state, updated_at = excluded.updated_at`,
			promotionID, action, state, s.db.Now().UTC())
		if isForeignKey(err) {
			return promotionNotFound(promotionID)
		}
		return err
	})
	return translate(fmt.Sprintf("set action %s of promotion %s", action, promotionID), err)
}

// ActionState returns the recorded state of an action, "" if none.
func (s *PromotionStore) ActionState(ctx context.Context, promotionID, action string) (string, error) {
	var state string
	err := s.db.view(ctx, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `SELECT state FROM promotion_actions WHERE promotion_id = $1 AND action = $2`,
			promotionID, action).Scan(&state)
		if isNoRows(err) {
			return nil
		}
		return err
	})
	return state, translate(fmt.Sprintf("get action %s of promotion %s", action, promotionID), err)
}
