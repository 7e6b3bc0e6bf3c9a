-- A person's control over a running promotion: the configuration a promotion
-- runs under, and abort requests left for the process running it.

ALTER TABLE promotions ADD COLUMN config_hash TEXT NOT NULL DEFAULT '';
ALTER TABLE promotions ADD COLUMN audit_anchor TEXT NOT NULL DEFAULT '';

CREATE TABLE promotion_aborts (
	promotion_id TEXT PRIMARY KEY REFERENCES promotions (id) ON DELETE CASCADE,
	requested_by TEXT NOT NULL,
	source       TEXT NOT NULL DEFAULT '',
	reason       TEXT NOT NULL DEFAULT '',
	requested_at TEXT NOT NULL
);
