package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/modelgate/modelgate"
)

// RequestAbort records a request to end a promotion; a second request leaves
// the first in place. ENOTFOUND if the promotion is missing.
func (s *PromotionStore) RequestAbort(ctx context.Context, r *modelgate.AbortRequest) error {
	if r.PromotionID == "" || r.By == "" {
		return modelgate.Errorf(modelgate.EINVALID, "an abort request needs a promotion and who asks")
	}
	err := s.db.update(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO promotion_aborts (promotion_id, requested_by, source, reason, requested_at)
			VALUES ($1, $2, $3, $4, $5) ON CONFLICT (promotion_id) DO NOTHING`,
			r.PromotionID, r.By, r.Source, r.Reason, timeArg(r.At))
		if isForeignKey(err) {
			return promotionNotFound(r.PromotionID)
		}
		return err
	})
	return translate("request abort of promotion "+r.PromotionID, err)
}

// AbortRequested returns the promotion's abort request, nil if none.
func (s *PromotionStore) AbortRequested(ctx context.Context, promotionID string) (*modelgate.AbortRequest, error) {
	r := modelgate.AbortRequest{PromotionID: promotionID}
	var at pgtype.Timestamptz
	err := s.db.view(ctx, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT requested_by, source, reason, requested_at FROM promotion_aborts WHERE promotion_id = $1`,
			promotionID).Scan(&r.By, &r.Source, &r.Reason, &at)
	})
	if isNoRows(err) {
		return nil, nil
	} else if err != nil {
		return nil, translate("read abort request of promotion "+promotionID, err)
	}
	r.At = timeOf(at)
	return &r, nil
}
