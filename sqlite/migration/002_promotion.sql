-- The promotion store: promotions, their step records and external actions,
-- per-model locks and approvals.

CREATE TABLE promotions (
	id           TEXT PRIMARY KEY,
	model        TEXT    NOT NULL,
	version      TEXT    NOT NULL,
	previous     TEXT    NOT NULL DEFAULT '',
	step         TEXT    NOT NULL DEFAULT '',
	outcome      TEXT    NOT NULL DEFAULT '',
	reasons      TEXT    NOT NULL DEFAULT '[]', -- JSON array of strings
	error        TEXT    NOT NULL DEFAULT '',
	actor        TEXT    NOT NULL DEFAULT '',
	started_at   TEXT    NOT NULL DEFAULT '',
	updated_at   TEXT    NOT NULL DEFAULT '',
	ended_at     TEXT    NOT NULL DEFAULT '',
	canary_start TEXT    NOT NULL DEFAULT '',
	extended     INTEGER NOT NULL DEFAULT 0
);

CREATE INDEX promotions_model_started ON promotions (model, started_at);

-- At most one active promotion per model, whatever the code above does.
CREATE UNIQUE INDEX promotions_one_active ON promotions (model) WHERE outcome IN ('', 'held');

CREATE TABLE promotion_steps (
	promotion_id TEXT NOT NULL REFERENCES promotions (id) ON DELETE CASCADE,
	step         TEXT NOT NULL,
	started_at   TEXT NOT NULL DEFAULT '',
	ended_at     TEXT NOT NULL DEFAULT '',
	inputs       TEXT,
	outcome      TEXT NOT NULL DEFAULT '',
	evidence     TEXT,
	PRIMARY KEY (promotion_id, step)
);

CREATE TABLE promotion_actions (
	promotion_id TEXT NOT NULL REFERENCES promotions (id) ON DELETE CASCADE,
	action       TEXT NOT NULL,
	state        TEXT NOT NULL,
	updated_at   TEXT NOT NULL,
	PRIMARY KEY (promotion_id, action)
);

CREATE TABLE promotion_locks (
	model       TEXT PRIMARY KEY,
	owner       TEXT NOT NULL,
	acquired_at TEXT NOT NULL,
	expires_at  TEXT NOT NULL
);

CREATE TABLE approvals (
	model       TEXT NOT NULL,
	version     TEXT NOT NULL,
	role        TEXT NOT NULL,
	approved_by TEXT NOT NULL,
	approved_at TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (model, version, role)
);
