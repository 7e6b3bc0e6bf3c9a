-- The audit trail: the audit package's hash-chained JSON Lines, one row per
-- line, kept byte for byte as sealed so an export verifies with the same
-- checks. audit_head is the "<trail>.head" sidecar: the last entry's
-- sequence and hash, sealed under its key on a keyed trail.

CREATE TABLE audit_entries (
	seq          BIGINT PRIMARY KEY CHECK (seq > 0),
	promotion_id TEXT NOT NULL DEFAULT '',
	line         TEXT NOT NULL
);

CREATE INDEX audit_entries_promotion ON audit_entries (promotion_id, seq);

CREATE TABLE audit_head (
	id     BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (id), -- one row
	seq    BIGINT NOT NULL,
	hash   TEXT NOT NULL,
	key_id TEXT NOT NULL DEFAULT '',
	seal   TEXT NOT NULL DEFAULT ''
);
