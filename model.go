package modelgate

import (
	"context"
	"strings"
	"time"
)

// Stage is a registry stage, with MLflow's names and meaning.
type Stage string

const (
	StageNone       Stage = "None"
	StageStaging    Stage = "Staging"
	StageProduction Stage = "Production"
	StageArchived   Stage = "Archived"
)

// ParseStage canonicalises a stage name case-insensitively, as MLflow does.
func ParseStage(s string) (Stage, error) {
	for _, st := range []Stage{StageNone, StageStaging, StageProduction, StageArchived} {
		if strings.EqualFold(s, string(st)) {
			return st, nil
		}
	}
	return "", Errorf(EINVALID, "invalid stage %q: must be one of None, Staging, Production, Archived", s)
}

// Tags every candidate must carry (playbook step 1) and the tag holding the
// artifact digest (see DirDigest).
const (
	TagGitSHA         = "git_sha"
	TagDatasetVersion = "dataset_version"
	TagApprover       = "approver"
	TagModelSHA256    = "model_sha256"
)

// RequiredTags are the version tags the playbook requires before promotion.
var RequiredTags = []string{TagGitSHA, TagDatasetVersion, TagApprover}

// RegisteredModel is a named model in the registry.
type RegisteredModel struct {
	Name        string            `json:"name"`
	Description string            `json:"description,omitempty"`
	Aliases     map[string]string `json:"aliases,omitempty"` // alias -> version
	CreatedAt   time.Time         `json:"created_at"`
	UpdatedAt   time.Time         `json:"updated_at"`
}

// ModelVersion is one registered version of a model.
type ModelVersion struct {
	Name      string            `json:"name"`
	Version   string            `json:"version"` // decimal, as MLflow sends it
	Stage     Stage             `json:"stage"`
	Aliases   []string          `json:"aliases,omitempty"`
	Tags      map[string]string `json:"tags,omitempty"`
	Source    string            `json:"source,omitempty"` // artifact location as the registry names it
	RunID     string            `json:"run_id,omitempty"`
	CreatedAt time.Time         `json:"created_at"`
	UpdatedAt time.Time         `json:"updated_at"`
}

// Ref names the version as "name/version".
func (v *ModelVersion) Ref() string { return v.Name + "/" + v.Version }

// NewVersion is what a registrar needs to create a version.
type NewVersion struct {
	Name    string             // registered model name; created when missing
	Dir     string             // local model directory (MLmodel + flavor files)
	Tags    map[string]string  // version tags; model_sha256 is computed and set
	Metrics map[string]float64 // metrics logged on the version's training run
	Stage   Stage              // initial stage; "" means None
}

// Registry is a model registry with MLflow's semantics: registered models,
// versions, stages, aliases, version tags, the training run's metrics and
// the artifacts. Implementations: sqlite (embedded), mlflow.
type Registry interface {
	// ListModels returns every registered model, sorted by name.
	ListModels(ctx context.Context) ([]*RegisteredModel, error)
	// GetModel returns a registered model with its aliases. ENOTFOUND if missing.
	GetModel(ctx context.Context, name string) (*RegisteredModel, error)
	// ListVersions returns every version of a model, ascending by version
	// number. ENOTFOUND if the model is missing.
	ListVersions(ctx context.Context, name string) ([]*ModelVersion, error)
	// GetVersion returns one version. ENOTFOUND if the model or version is
	// missing; EINVALID if version is not a positive integer.
	GetVersion(ctx context.Context, name, version string) (*ModelVersion, error)
	// GetVersionByAlias returns the version an alias points to. ENOTFOUND if
	// the model or alias is missing.
	GetVersionByAlias(ctx context.Context, name, alias string) (*ModelVersion, error)
	// TransitionStage moves a version to stage; with archiveExisting (only for
	// Staging and Production) every other version in that stage becomes
	// Archived in the same change.
	TransitionStage(ctx context.Context, name, version string, stage Stage, archiveExisting bool) (*ModelVersion, error)
	// SetAlias points alias at version, replacing any previous target.
	SetAlias(ctx context.Context, name, alias, version string) error
	// DeleteAlias removes an alias; removing a missing alias is not an error.
	DeleteAlias(ctx context.Context, name, alias string) error
	// SetVersionTag sets (overwrites) one version tag.
	SetVersionTag(ctx context.Context, name, version, key, value string) error
	// DeleteVersionTag removes a version tag; a missing key is not an error.
	DeleteVersionTag(ctx context.Context, name, version, key string) error
	// VersionMetrics returns the metrics logged on the version's training
	// run (latest value per key); empty when none were logged.
	VersionMetrics(ctx context.Context, name, version string) (map[string]float64, error)
	// DownloadArtifacts copies the version's model directory into dir (which
	// must be empty or missing) and returns the directory holding MLmodel.
	DownloadArtifacts(ctx context.Context, name, version, dir string) (string, error)
}

// Registrar is the optional capability to register a model directory as a
// new version (the embedded registry; MLflow through its REST API).
type Registrar interface {
	CreateVersion(ctx context.Context, nv NewVersion) (*ModelVersion, error)
}
