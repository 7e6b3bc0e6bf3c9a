-- The embedded model registry: MLflow's registered models, versions,
-- stages, aliases, version tags and the training run's metrics.
-- Times are UTC text in a fixed-width format (see formatTime), so they sort.

CREATE TABLE registered_models (
	name        TEXT PRIMARY KEY,
	description TEXT NOT NULL DEFAULT '',
	created_at  TEXT NOT NULL,
	updated_at  TEXT NOT NULL
);

CREATE TABLE model_versions (
	name       TEXT    NOT NULL REFERENCES registered_models (name) ON DELETE CASCADE,
	version    INTEGER NOT NULL CHECK (version > 0),
	stage      TEXT    NOT NULL CHECK (stage IN ('None', 'Staging', 'Production', 'Archived')),
	source     TEXT    NOT NULL,
	run_id     TEXT    NOT NULL DEFAULT '',
	created_at TEXT    NOT NULL,
	updated_at TEXT    NOT NULL,
	PRIMARY KEY (name, version)
);

CREATE TABLE model_aliases (
	name    TEXT    NOT NULL,
	alias   TEXT    NOT NULL,
	version INTEGER NOT NULL,
	PRIMARY KEY (name, alias),
	FOREIGN KEY (name, version) REFERENCES model_versions (name, version) ON DELETE CASCADE
);

CREATE TABLE version_tags (
	name    TEXT    NOT NULL,
	version INTEGER NOT NULL,
	key     TEXT    NOT NULL,
	value   TEXT    NOT NULL,
	PRIMARY KEY (name, version, key),
	FOREIGN KEY (name, version) REFERENCES model_versions (name, version) ON DELETE CASCADE
);

CREATE TABLE version_metrics (
	name    TEXT    NOT NULL,
	version INTEGER NOT NULL,
	key     TEXT    NOT NULL,
	value   REAL    NOT NULL,
	PRIMARY KEY (name, version, key),
	FOREIGN KEY (name, version) REFERENCES model_versions (name, version) ON DELETE CASCADE
);
