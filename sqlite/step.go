package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

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
	err = s.db.update(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO promotion_steps
			(promotion_id, step, started_at, ended_at, inputs, outcome, evidence) VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (promotion_id, step) DO UPDATE SET started_at = excluded.started_at,
				ended_at = excluded.ended_at, inputs = excluded.inputs, outcome = excluded.outcome,
				evidence = excluded.evidence`,
			r.PromotionID, string(r.Step), formatTime(r.StartedAt), formatTime(r.EndedAt),
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
func encodeInputs(in modelgate.StepInputs) (any, error) {
	if in.ConfigHash == "" && len(in.Settings) == 0 {
		return nil, nil
	}
	b, err := json.Marshal(in)
	if err != nil {
		return nil, modelgate.Errorf(modelgate.EINVALID, "encode step inputs: %v", err)
	}
	return string(b), nil
}

// nullJSON stores an absent document as NULL, so it reads back as nil.
func nullJSON(m json.RawMessage) any {
	if m == nil {
		return nil
	}
	return string(m)
}

// Steps returns a promotion's step records in the order they started (ties
// in the order they were first saved).
func (s *PromotionStore) Steps(ctx context.Context, promotionID string) ([]*modelgate.StepRecord, error) {
	var records []*modelgate.StepRecord
	err := s.db.view(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT promotion_id, step, started_at, ended_at, inputs, outcome, evidence
			FROM promotion_steps WHERE promotion_id = ? ORDER BY started_at, rowid`, promotionID)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			r, err := scanStep(rows)
			if err != nil {
				return err
			}
			records = append(records, r)
		}
		return rows.Err()
	})
	return records, translate("list steps of promotion "+promotionID, err)
}

func scanStep(rows *sql.Rows) (*modelgate.StepRecord, error) {
	var r modelgate.StepRecord
	var step, started, ended, outcome string
	var inputs, evidence sql.NullString
	if err := rows.Scan(&r.PromotionID, &step, &started, &ended, &inputs, &outcome, &evidence); err != nil {
		return nil, err
	}
	r.Step, r.Outcome = modelgate.Step(step), modelgate.StepResult(outcome)
	if inputs.Valid {
		// Inputs of other versions' shapes read as empty: they are
		// informative, never a reason to refuse a record.
		_ = json.Unmarshal([]byte(inputs.String), &r.Inputs)
	}
	if evidence.Valid {
		r.Evidence = json.RawMessage(evidence.String)
	}
	err := parseTimes(map[*time.Time]string{&r.StartedAt: started, &r.EndedAt: ended})
	return &r, err
}

// SetAction records the state of a named external action. ENOTFOUND if the
// promotion is missing.
func (s *PromotionStore) SetAction(ctx context.Context, promotionID, action, state string) error {
	if action == "" || state == "" {
		return modelgate.Errorf(modelgate.EINVALID, "action and state required")
	}
	err := s.db.update(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO promotion_actions (promotion_id, action, state, updated_at)
			VALUES (?, ?, ?, ?) ON CONFLICT (promotion_id, action) DO UPDATE SET
			state = excluded.state, updated_at = excluded.updated_at`,
			promotionID, action, state, formatTime(s.db.Now()))
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
	err := s.db.view(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `SELECT state FROM promotion_actions WHERE promotion_id = ? AND action = ?`,
			promotionID, action).Scan(&state)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		return err
	})
	return state, translate(fmt.Sprintf("get action %s of promotion %s", action, promotionID), err)
}
