-- The promotion store: promotions, their step records and external actions,
-- per-model locks, abort requests and approvals. The same tables as the
-- sqlite package's, with native types; seq columns stand in for SQLite's
-- rowid where the order rows were first written breaks ties.

CREATE TABLE promotions (
	id           TEXT PRIMARY KEY,
	seq          BIGSERIAL NOT NULL,
	model        TEXT    NOT NULL,
	version      TEXT    NOT NULL,
	previous     TEXT    NOT NULL DEFAULT '',
	step         TEXT    NOT NULL DEFAULT '',
	outcome      TEXT    NOT NULL DEFAULT '',
	reasons      TEXT[]  NOT NULL DEFAULT '{}',
	error        TEXT    NOT NULL DEFAULT '',
	actor        TEXT    NOT NULL DEFAULT '',
	started_at   TIMESTAMPTZ,
	updated_at   TIMESTAMPTZ,
	ended_at     TIMESTAMPTZ,
	canary_start TIMESTAMPTZ,
	extended     BOOLEAN NOT NULL DEFAULT FALSE,
	config_hash  TEXT    NOT NULL DEFAULT '',
	audit_anchor TEXT    NOT NULL DEFAULT ''
);

CREATE INDEX promotions_model_started ON promotions (model, started_at);

-- At most one active promotion per model, whatever the code above does.
CREATE UNIQUE INDEX promotions_one_active ON promotions (model) WHERE outcome IN ('', 'held');

CREATE TABLE promotion_steps (
	promotion_id TEXT NOT NULL REFERENCES promotions (id) ON DELETE CASCADE,
	step         TEXT NOT NULL,
	seq          BIGSERIAL NOT NULL,
	started_at   TIMESTAMPTZ,
	ended_at     TIMESTAMPTZ,
	inputs       JSON,
	outcome      TEXT NOT NULL DEFAULT '',
	evidence     JSON, -- json, not jsonb: the document reads back byte for byte
	PRIMARY KEY (promotion_id, step)
);

CREATE TABLE promotion_actions (
	promotion_id TEXT NOT NULL REFERENCES promotions (id) ON DELETE CASCADE,
	action       TEXT NOT NULL,
	state        TEXT NOT NULL,
	updated_at   TIMESTAMPTZ NOT NULL,
	PRIMARY KEY (promotion_id, action)
);

CREATE TABLE promotion_locks (
	model       TEXT PRIMARY KEY,
	owner       TEXT NOT NULL,
	acquired_at TIMESTAMPTZ NOT NULL,
	expires_at  TIMESTAMPTZ NOT NULL
);

CREATE TABLE promotion_aborts (
	promotion_id TEXT PRIMARY KEY REFERENCES promotions (id) ON DELETE CASCADE,
	requested_by TEXT NOT NULL,
	source       TEXT NOT NULL DEFAULT '',
	reason       TEXT NOT NULL DEFAULT '',
	requested_at TIMESTAMPTZ
);

CREATE TABLE approvals (
	model          TEXT NOT NULL,
	version        TEXT NOT NULL,
	role           TEXT NOT NULL,
	approved_by    TEXT NOT NULL,
	approved_at    TIMESTAMPTZ,
	recorded_by    TEXT NOT NULL DEFAULT '',
	source         TEXT NOT NULL DEFAULT '',
	revoked        BOOLEAN NOT NULL DEFAULT FALSE,
	revoked_by     TEXT NOT NULL DEFAULT '',
	revoked_source TEXT NOT NULL DEFAULT '',
	revoked_reason TEXT NOT NULL DEFAULT '',
	revoked_at     TIMESTAMPTZ,
	PRIMARY KEY (model, version, role)
);
