package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/modelgate/modelgate"
)

// CreateVersion registers nv.Dir as the model's next version. The directory
// is copied into the artifact store first (outside the transaction: an
// unreferenced artifact is harmless, and the store deduplicates it); the
// model, version, tags and metrics are then written in one transaction.
func (r *Registry) CreateVersion(ctx context.Context, nv modelgate.NewVersion) (*modelgate.ModelVersion, error) {
	stage, err := validateNewVersion(nv)
	if err != nil {
		return nil, err
	}
	digest, err := r.storeArtifact(ctx, nv.Dir)
	if err != nil {
		return nil, translate("store model artifact", err)
	}
	var mv *modelgate.ModelVersion
	err = r.db.update(ctx, func(tx *sql.Tx) error {
		mv, err = r.insertVersion(ctx, tx, nv, stage, digest)
		return err
	})
	return mv, translate("create version of "+nv.Name, err)
}

// validateNewVersion checks everything that can be checked before copying,
// and returns the initial stage.
func validateNewVersion(nv modelgate.NewVersion) (modelgate.Stage, error) {
	if err := validateModelName(nv.Name); err != nil {
		return "", err
	}
	stage := modelgate.StageNone
	if nv.Stage != "" {
		var err error
		if stage, err = parseStage(nv.Stage); err != nil {
			return "", err
		}
	}
	for k, v := range nv.Tags {
		if err := validateTag(k, v); err != nil {
			return "", err
		}
	}
	for k, v := range nv.Metrics {
		if err := validateMetric(k, v); err != nil {
			return "", err
		}
	}
	return stage, checkModelDir(nv.Dir)
}

func (r *Registry) insertVersion(ctx context.Context, tx *sql.Tx, nv modelgate.NewVersion, stage modelgate.Stage, digest string) (*modelgate.ModelVersion, error) {
	now := formatTime(r.db.Now())
	_, err := tx.ExecContext(ctx, `INSERT INTO registered_models (name, created_at, updated_at) VALUES (?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET updated_at = excluded.updated_at`, nv.Name, now, now)
	if err != nil {
		return nil, err
	}
	var n int64
	err = tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) + 1 FROM model_versions WHERE name = ?`, nv.Name).Scan(&n)
	if err != nil {
		return nil, err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO model_versions (name, version, stage, source, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?)`, nv.Name, n, string(stage), artifactSource(digest), now, now)
	if err != nil {
		return nil, err
	}
	tags := map[string]string{modelgate.TagModelSHA256: digest}
	for k, v := range nv.Tags {
		tags[k] = v // a caller's model_sha256 wins, so tests can register a mismatch
	}
	for k, v := range tags {
		if err := upsertTag(ctx, tx, nv.Name, n, k, v); err != nil {
			return nil, err
		}
	}
	for k, v := range nv.Metrics {
		_, err := tx.ExecContext(ctx, `INSERT INTO version_metrics (name, version, key, value) VALUES (?, ?, ?, ?)`,
			nv.Name, n, k, v)
		if err != nil {
			return nil, err
		}
	}
	return getVersion(ctx, tx, nv.Name, n)
}

// TransitionStage moves a version to stage. With archiveExisting (Staging and
// Production only) the other versions in that stage become Archived in the
// same transaction.
func (r *Registry) TransitionStage(ctx context.Context, name, version string, stage modelgate.Stage, archiveExisting bool) (*modelgate.ModelVersion, error) {
	n, err := parseVersion(version)
	if err != nil {
		return nil, err
	}
	if stage, err = parseStage(stage); err != nil {
		return nil, err
	}
	if archiveExisting && stage != modelgate.StageStaging && stage != modelgate.StageProduction {
		return nil, modelgate.Errorf(modelgate.EINVALID,
			"Model version transition cannot archive existing model versions because '%s' is not an Active stage. Valid stages are Staging, Production", stage)
	}
	var mv *modelgate.ModelVersion
	err = r.db.update(ctx, func(tx *sql.Tx) error {
		mv, err = r.transition(ctx, tx, name, n, stage, archiveExisting)
		return err
	})
	return mv, translate(fmt.Sprintf("transition %s/%s to %s", name, version, stage), err)
}

func (r *Registry) transition(ctx context.Context, tx *sql.Tx, name string, n int64, stage modelgate.Stage, archiveExisting bool) (*modelgate.ModelVersion, error) {
	if err := requireVersion(ctx, tx, name, n); err != nil {
		return nil, err
	}
	now := formatTime(r.db.Now())
	if archiveExisting {
		_, err := tx.ExecContext(ctx, `UPDATE model_versions SET stage = ?, updated_at = ?
			WHERE name = ? AND stage = ? AND version <> ?`, string(modelgate.StageArchived), now, name, string(stage), n)
		if err != nil {
			return nil, err
		}
	}
	_, err := tx.ExecContext(ctx, `UPDATE model_versions SET stage = ?, updated_at = ? WHERE name = ? AND version = ?`,
		string(stage), now, name, n)
	if err != nil {
		return nil, err
	}
	if err := touchModel(ctx, tx, name, now); err != nil {
		return nil, err
	}
	return getVersion(ctx, tx, name, n)
}

// SetAlias points alias at version, replacing any previous target.
func (r *Registry) SetAlias(ctx context.Context, name, alias, version string) error {
	if err := validateAlias(alias); err != nil {
		return err
	}
	n, err := parseVersion(version)
	if err != nil {
		return err
	}
	err = r.db.update(ctx, func(tx *sql.Tx) error {
		if err := requireModel(ctx, tx, name); err != nil {
			return err
		}
		if err := requireVersion(ctx, tx, name, n); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO model_aliases (name, alias, version) VALUES (?, ?, ?)
			ON CONFLICT (name, alias) DO UPDATE SET version = excluded.version`, name, alias, n)
		if err != nil {
			return err
		}
		return touchModel(ctx, tx, name, formatTime(r.db.Now()))
	})
	return translate(fmt.Sprintf("set alias %s@%s", name, alias), err)
}

// DeleteAlias removes an alias; a missing alias is not an error, a missing
// model is.
func (r *Registry) DeleteAlias(ctx context.Context, name, alias string) error {
	if err := validateAlias(alias); err != nil {
		return err
	}
	err := r.db.update(ctx, func(tx *sql.Tx) error {
		if err := requireModel(ctx, tx, name); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM model_aliases WHERE name = ? AND alias = ?`, name, alias)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err
		}
		return touchModel(ctx, tx, name, formatTime(r.db.Now()))
	})
	return translate(fmt.Sprintf("delete alias %s@%s", name, alias), err)
}

// SetVersionTag sets (overwrites) one version tag.
func (r *Registry) SetVersionTag(ctx context.Context, name, version, key, value string) error {
	if err := validateTag(key, value); err != nil {
		return err
	}
	n, err := parseVersion(version)
	if err != nil {
		return err
	}
	err = r.db.update(ctx, func(tx *sql.Tx) error {
		if err := requireVersion(ctx, tx, name, n); err != nil {
			return err
		}
		return upsertTag(ctx, tx, name, n, key, value)
	})
	return translate(fmt.Sprintf("set tag %s on %s/%s", key, name, version), err)
}

// DeleteVersionTag removes a version tag; a missing key is not an error, a
// missing version is.
func (r *Registry) DeleteVersionTag(ctx context.Context, name, version, key string) error {
	if err := validateKey("Tag", key); err != nil {
		return err
	}
	n, err := parseVersion(version)
	if err != nil {
		return err
	}
	err = r.db.update(ctx, func(tx *sql.Tx) error {
		if err := requireVersion(ctx, tx, name, n); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM version_tags WHERE name = ? AND version = ? AND key = ?`, name, n, key)
		return err
	})
	return translate(fmt.Sprintf("delete tag %s on %s/%s", key, name, version), err)
}

func upsertTag(ctx context.Context, tx *sql.Tx, name string, n int64, key, value string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO version_tags (name, version, key, value) VALUES (?, ?, ?, ?)
		ON CONFLICT (name, version, key) DO UPDATE SET value = excluded.value`, name, n, key, value)
	return err
}

// touchModel records that the model changed, as MLflow's last_updated_timestamp does.
func touchModel(ctx context.Context, tx *sql.Tx, name, now string) error {
	_, err := tx.ExecContext(ctx, `UPDATE registered_models SET updated_at = ? WHERE name = ?`, now, name)
	return err
}
