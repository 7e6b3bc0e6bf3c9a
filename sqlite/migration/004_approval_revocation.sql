-- Approvals that hold up in an audit: who recorded each one (and where that
-- name came from), and its revocation, kept next to it.

ALTER TABLE approvals ADD COLUMN recorded_by    TEXT NOT NULL DEFAULT '';
ALTER TABLE approvals ADD COLUMN source         TEXT NOT NULL DEFAULT '';
ALTER TABLE approvals ADD COLUMN revoked_by     TEXT NOT NULL DEFAULT '';
ALTER TABLE approvals ADD COLUMN revoked_source TEXT NOT NULL DEFAULT '';
ALTER TABLE approvals ADD COLUMN revoked_reason TEXT NOT NULL DEFAULT '';
ALTER TABLE approvals ADD COLUMN revoked_at     TEXT NOT NULL DEFAULT '';
