package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/modelgate/modelgate"
)

// Registry is the embedded model registry: MLflow's registry semantics over
// SQLite, with artifacts in a content-addressed directory.
type Registry struct {
	db          *DB
	artifactDir string // holds sha256/<digest>/ per stored model directory
}

var (
	_ modelgate.Registry  = (*Registry)(nil)
	_ modelgate.Registrar = (*Registry)(nil)
)

// NewRegistry returns a registry stored in db, keeping artifacts under
// artifactDir. db must be open before the registry is used.
func NewRegistry(db *DB, artifactDir string) *Registry {
	return &Registry{db: db, artifactDir: artifactDir}
}

// ListModels returns every registered model with its aliases, sorted by name.
func (r *Registry) ListModels(ctx context.Context) ([]*modelgate.RegisteredModel, error) {
	var models []*modelgate.RegisteredModel
	err := r.db.view(ctx, func(tx *sql.Tx) error {
		var err error
		models, err = queryModels(ctx, tx, "")
		return err
	})
	return models, translate("list models", err)
}

// GetModel returns a registered model with its aliases.
func (r *Registry) GetModel(ctx context.Context, name string) (*modelgate.RegisteredModel, error) {
	var m *modelgate.RegisteredModel
	err := r.db.view(ctx, func(tx *sql.Tx) error {
		var err error
		m, err = getModel(ctx, tx, name)
		return err
	})
	return m, translate("get model "+name, err)
}

// ListVersions returns every version of a model, ascending by number.
func (r *Registry) ListVersions(ctx context.Context, name string) ([]*modelgate.ModelVersion, error) {
	var versions []*modelgate.ModelVersion
	err := r.db.view(ctx, func(tx *sql.Tx) error {
		if err := requireModel(ctx, tx, name); err != nil {
			return err
		}
		var err error
		versions, err = queryVersions(ctx, tx, name, 0)
		return err
	})
	return versions, translate("list versions of "+name, err)
}

// GetVersion returns one version with its tags and sorted aliases.
func (r *Registry) GetVersion(ctx context.Context, name, version string) (*modelgate.ModelVersion, error) {
	n, err := parseVersion(version)
	if err != nil {
		return nil, err
	}
	var mv *modelgate.ModelVersion
	err = r.db.view(ctx, func(tx *sql.Tx) error {
		mv, err = getVersion(ctx, tx, name, n)
		return err
	})
	return mv, translate(fmt.Sprintf("get version %s/%s", name, version), err)
}

// GetVersionByAlias returns the version alias points to. A missing alias is
// ENOTFOUND here, where MLflow answers INVALID_PARAMETER_VALUE.
func (r *Registry) GetVersionByAlias(ctx context.Context, name, alias string) (*modelgate.ModelVersion, error) {
	var mv *modelgate.ModelVersion
	err := r.db.view(ctx, func(tx *sql.Tx) error {
		if err := requireModel(ctx, tx, name); err != nil {
			return err
		}
		var n int64
		err := tx.QueryRowContext(ctx, `SELECT version FROM model_aliases WHERE name = ? AND alias = ?`,
			name, alias).Scan(&n)
		if errors.Is(err, sql.ErrNoRows) {
			return modelgate.Errorf(modelgate.ENOTFOUND, "Registered model alias %s not found.", alias)
		} else if err != nil {
			return err
		}
		mv, err = getVersion(ctx, tx, name, n)
		return err
	})
	return mv, translate(fmt.Sprintf("get version %s@%s", name, alias), err)
}

// VersionMetrics returns the metrics stored with the version; an empty map
// when none were.
func (r *Registry) VersionMetrics(ctx context.Context, name, version string) (map[string]float64, error) {
	n, err := parseVersion(version)
	if err != nil {
		return nil, err
	}
	metrics := map[string]float64{}
	err = r.db.view(ctx, func(tx *sql.Tx) error {
		if err := requireVersion(ctx, tx, name, n); err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT key, value FROM version_metrics WHERE name = ? AND version = ?`, name, n)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var k string
			var v float64
			if err := rows.Scan(&k, &v); err != nil {
				return err
			}
			metrics[k] = v
		}
		return rows.Err()
	})
	if err != nil {
		return nil, translate(fmt.Sprintf("get metrics of %s/%s", name, version), err)
	}
	return metrics, nil
}

func modelNotFound(name string) error {
	return modelgate.Errorf(modelgate.ENOTFOUND, "Registered Model with name=%s not found", name)
}

func versionNotFound(name string, n int64) error {
	return modelgate.Errorf(modelgate.ENOTFOUND, "Model Version (name=%s, version=%d) not found", name, n)
}

func requireModel(ctx context.Context, tx *sql.Tx, name string) error {
	return requireRow(ctx, tx, modelNotFound(name), `SELECT 1 FROM registered_models WHERE name = ?`, name)
}

func requireVersion(ctx context.Context, tx *sql.Tx, name string, n int64) error {
	return requireRow(ctx, tx, versionNotFound(name, n),
		`SELECT 1 FROM model_versions WHERE name = ? AND version = ?`, name, n)
}

// requireRow returns notFound unless query yields a row.
func requireRow(ctx context.Context, tx *sql.Tx, notFound error, query string, args ...any) error {
	var one int
	err := tx.QueryRowContext(ctx, query, args...).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return notFound
	}
	return err
}

func getModel(ctx context.Context, tx *sql.Tx, name string) (*modelgate.RegisteredModel, error) {
	models, err := queryModels(ctx, tx, name)
	if err != nil {
		return nil, err
	}
	if len(models) == 0 {
		return nil, modelNotFound(name)
	}
	return models[0], nil
}

// queryModels returns the model called name, or every model if name is "".
func queryModels(ctx context.Context, tx *sql.Tx, name string) ([]*modelgate.RegisteredModel, error) {
	rows, err := tx.QueryContext(ctx, `SELECT name, description, created_at, updated_at
		FROM registered_models WHERE ? = '' OR name = ? ORDER BY name`, name, name)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var models []*modelgate.RegisteredModel
	for rows.Next() {
		var m modelgate.RegisteredModel
		var created, updated string
		if err := rows.Scan(&m.Name, &m.Description, &created, &updated); err != nil {
			return nil, err
		}
		if err := parseTimes(map[*time.Time]string{&m.CreatedAt: created, &m.UpdatedAt: updated}); err != nil {
			return nil, err
		}
		models = append(models, &m)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return models, fillModelAliases(ctx, tx, name, models)
}

// fillModelAliases sets Aliases on models (all of them, or those called name).
func fillModelAliases(ctx context.Context, tx *sql.Tx, name string, models []*modelgate.RegisteredModel) error {
	byName := make(map[string]*modelgate.RegisteredModel, len(models))
	for _, m := range models {
		byName[m.Name] = m
	}
	rows, err := tx.QueryContext(ctx, `SELECT name, alias, version FROM model_aliases WHERE ? = '' OR name = ?`, name, name)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var model, alias string
		var n int64
		if err := rows.Scan(&model, &alias, &n); err != nil {
			return err
		}
		if m := byName[model]; m != nil {
			if m.Aliases == nil {
				m.Aliases = map[string]string{}
			}
			m.Aliases[alias] = versionString(n)
		}
	}
	return rows.Err()
}

func getVersion(ctx context.Context, tx *sql.Tx, name string, n int64) (*modelgate.ModelVersion, error) {
	versions, err := queryVersions(ctx, tx, name, n)
	if err != nil {
		return nil, err
	}
	if len(versions) == 0 {
		return nil, versionNotFound(name, n)
	}
	return versions[0], nil
}

// queryVersions returns version n of name with tags and aliases, or every
// version if n is 0, ascending.
func queryVersions(ctx context.Context, tx *sql.Tx, name string, n int64) ([]*modelgate.ModelVersion, error) {
	rows, err := tx.QueryContext(ctx, `SELECT name, version, stage, source, run_id, created_at, updated_at
		FROM model_versions WHERE name = ? AND (? = 0 OR version = ?) ORDER BY version`, name, n, n)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var versions []*modelgate.ModelVersion
	byNumber := map[int64]*modelgate.ModelVersion{}
	for rows.Next() {
		mv, num, err := scanVersion(rows)
		if err != nil {
			return nil, err
		}
		versions = append(versions, mv)
		byNumber[num] = mv
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if err := fillVersionTags(ctx, tx, name, n, byNumber); err != nil {
		return nil, err
	}
	return versions, fillVersionAliases(ctx, tx, name, n, byNumber)
}

func scanVersion(rows *sql.Rows) (*modelgate.ModelVersion, int64, error) {
	var mv modelgate.ModelVersion
	var n int64
	var stage, created, updated string
	if err := rows.Scan(&mv.Name, &n, &stage, &mv.Source, &mv.RunID, &created, &updated); err != nil {
		return nil, 0, err
	}
	mv.Version = versionString(n)
	mv.Stage = modelgate.Stage(stage)
	err := parseTimes(map[*time.Time]string{&mv.CreatedAt: created, &mv.UpdatedAt: updated})
	return &mv, n, err
}

func fillVersionTags(ctx context.Context, tx *sql.Tx, name string, n int64, byNumber map[int64]*modelgate.ModelVersion) error {
	rows, err := tx.QueryContext(ctx, `SELECT version, key, value FROM version_tags
		WHERE name = ? AND (? = 0 OR version = ?)`, name, n, n)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var num int64
		var k, v string
		if err := rows.Scan(&num, &k, &v); err != nil {
			return err
		}
		if mv := byNumber[num]; mv != nil {
			if mv.Tags == nil {
				mv.Tags = map[string]string{}
			}
			mv.Tags[k] = v
		}
	}
	return rows.Err()
}

func fillVersionAliases(ctx context.Context, tx *sql.Tx, name string, n int64, byNumber map[int64]*modelgate.ModelVersion) error {
	rows, err := tx.QueryContext(ctx, `SELECT version, alias FROM model_aliases
		WHERE name = ? AND (? = 0 OR version = ?) ORDER BY alias`, name, n, n)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var num int64
		var alias string
		if err := rows.Scan(&num, &alias); err != nil {
			return err
		}
		if mv := byNumber[num]; mv != nil {
			mv.Aliases = append(mv.Aliases, alias)
		}
	}
	return rows.Err()
}
