package mlflow

import (
	"context"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/modelgate/modelgate"
)

// Registry is modelgate.Registry and modelgate.Registrar over one MLflow
// tracking server. It is safe for concurrent use.
type Registry struct {
	c    *client
	opts Options
	keys []PublicKey // parsed Options.PublicKeys
}

var (
	_ modelgate.Registry  = (*Registry)(nil)
	_ modelgate.Registrar = (*Registry)(nil)
)

// New checks o and returns a Registry. It makes no network call: an
// unreachable server shows on the first call as EUNAVAILABLE.
func New(o Options) (*Registry, error) {
	o.setDefaults()
	if err := o.validate(); err != nil {
		return nil, err
	}
	keys, err := loadPublicKeys(o.PublicKeys)
	if err != nil {
		return nil, err
	}
	c, err := newClient(o)
	if err != nil {
		return nil, err
	}
	return &Registry{c: c, opts: o, keys: keys}, nil
}

// Stats returns the calls made so far and the time spent in them.
func (r *Registry) Stats() Stats { return r.c.stats() }

// URI returns the tracking server's base URL, without credentials.
func (r *Registry) URI() string { return r.c.base.Redacted() }

// maxResults is the page size of every list: MLflow's documented maximum
// for model search, accepted everywhere (Databricks rejects more).
const maxResults = 1000

// JSON shapes of MLflow's answers (proto JSON; absent fields decode as zero).
type (
	tag        struct{ Key, Value string }
	modelAlias struct{ Alias, Version string }

	registeredModelJSON struct {
		Name                 string       `json:"name"`
		Description          string       `json:"description"`
		CreationTimestamp    int64        `json:"creation_timestamp"`
		LastUpdatedTimestamp int64        `json:"last_updated_timestamp"`
		Aliases              []modelAlias `json:"aliases"`
	}
	modelVersionJSON struct {
		Name                 string   `json:"name"`
		Version              string   `json:"version"`
		CreationTimestamp    int64    `json:"creation_timestamp"`
		LastUpdatedTimestamp int64    `json:"last_updated_timestamp"`
		CurrentStage         string   `json:"current_stage"`
		Source               string   `json:"source"`
		RunID                string   `json:"run_id"`
		ModelID              string   `json:"model_id"`
		Status               string   `json:"status"`
		StatusMessage        string   `json:"status_message"`
		Tags                 []tag    `json:"tags"`
		Aliases              []string `json:"aliases"`
	}
)

func millis(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

func (m *registeredModelJSON) toModel() *modelgate.RegisteredModel {
	rm := &modelgate.RegisteredModel{Name: m.Name, Description: m.Description,
		CreatedAt: millis(m.CreationTimestamp), UpdatedAt: millis(m.LastUpdatedTimestamp)}
	if len(m.Aliases) > 0 {
		rm.Aliases = map[string]string{}
		for _, a := range m.Aliases {
			rm.Aliases[a.Alias] = a.Version
		}
	}
	return rm
}

func (v *modelVersionJSON) toVersion() *modelgate.ModelVersion {
	stage, err := modelgate.ParseStage(v.CurrentStage)
	if err != nil {
		stage = modelgate.Stage(v.CurrentStage)
	}
	mv := &modelgate.ModelVersion{Name: v.Name, Version: v.Version, Stage: stage, Source: v.Source, RunID: v.RunID,
		CreatedAt: millis(v.CreationTimestamp), UpdatedAt: millis(v.LastUpdatedTimestamp)}
	if len(v.Tags) > 0 {
		mv.Tags = map[string]string{}
		for _, t := range v.Tags {
			mv.Tags[t.Key] = t.Value
		}
	}
	if len(v.Aliases) > 0 {
		mv.Aliases = append([]string(nil), v.Aliases...)
		sort.Strings(mv.Aliases)
	}
	return mv
}

func get(path string, q url.Values) request {
	return request{method: "GET", api: "mlflow", path: path, query: q, idempotent: true}
}

// ListModels returns every registered model, sorted by name, paging
// through registered-models/search. Search results carry no aliases in
// MLflow's SQL store; GetModel has them.
func (r *Registry) ListModels(ctx context.Context) ([]*modelgate.RegisteredModel, error) {
	var models []*modelgate.RegisteredModel
	token, seen := "", map[string]bool{}
	for {
		q := url.Values{"max_results": {strconv.Itoa(maxResults)}, "order_by": {"name ASC"}}
		if token != "" {
			q.Set("page_token", token)
		}
		var out struct {
			Models []registeredModelJSON `json:"registered_models"`
			Next   string                `json:"next_page_token"`
		}
		if err := r.c.callJSON(ctx, get("registered-models/search", q), &out); err != nil {
			return nil, err
		}
		for i := range out.Models {
			models = append(models, out.Models[i].toModel())
		}
		if token = out.Next; token == "" {
			break
		}
		if err := nextPage(seen, "registered-models/search", token); err != nil {
			return nil, err
		}
	}
	sort.Slice(models, func(i, j int) bool { return models[i].Name < models[j].Name })
	return models, nil
}

// GetModel returns a registered model with its aliases.
func (r *Registry) GetModel(ctx context.Context, name string) (*modelgate.RegisteredModel, error) {
	var out struct {
		Model registeredModelJSON `json:"registered_model"`
	}
	if err := r.c.callJSON(ctx, get("registered-models/get", url.Values{"name": {name}}), &out); err != nil {
		return nil, err
	}
	return out.Model.toModel(), nil
}

// ListVersions returns every version of name, ascending by number, paging
// through model-versions/search. It reads the model first: that gives
// ENOTFOUND for a missing model and the aliases, which search results lack.
func (r *Registry) ListVersions(ctx context.Context, name string) ([]*modelgate.ModelVersion, error) {
	m, err := r.GetModel(ctx, name)
	if err != nil {
		return nil, err
	}
	byVersion := map[string][]string{}
	for alias, v := range m.Aliases {
		byVersion[v] = append(byVersion[v], alias)
	}
	var versions []*modelgate.ModelVersion
	token, seen := "", map[string]bool{}
	for {
		q := url.Values{"filter": {"name=" + quote(name)}, "max_results": {strconv.Itoa(maxResults)},
			"order_by": {"version_number ASC"}}
		if token != "" {
			q.Set("page_token", token)
		}
		var out struct {
			Versions []modelVersionJSON `json:"model_versions"`
			Next     string             `json:"next_page_token"`
		}
		if err := r.c.callJSON(ctx, get("model-versions/search", q), &out); err != nil {
			return nil, err
		}
		for i := range out.Versions {
			v := out.Versions[i].toVersion()
			if v.Name != name { // defensive: filters are matched as SQL
				continue
			}
			if len(v.Aliases) == 0 && len(byVersion[v.Version]) > 0 {
				v.Aliases = byVersion[v.Version]
				sort.Strings(v.Aliases)
			}
			versions = append(versions, v)
		}
		if token = out.Next; token == "" {
			break
		}
		if err := nextPage(seen, "model-versions/search", token); err != nil {
			return nil, err
		}
	}
	sort.Slice(versions, func(i, j int) bool { return versionNumber(versions[i].Version) < versionNumber(versions[j].Version) })
	return versions, nil
}

// nextPage records the token of the next page of a listing and refuses
// one MLflow gave before (a proxy that drops the query string could): the
// listing would never end.
func nextPage(seen map[string]bool, path, token string) error {
	if seen[token] {
		return modelgate.Errorf(modelgate.EUNAVAILABLE, "MLflow answered %s with the page token %.80q again; the listing would never end", path, token)
	}
	seen[token] = true
	return nil
}

// quote makes a single-quoted string literal of MLflow's search grammar.
func quote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

func versionNumber(v string) int64 {
	n, _ := strconv.ParseInt(v, 10, 64)
	return n
}

// checkVersion rejects what is not a positive integer before asking MLflow,
// which answers "0" and "-1" with not found.
func checkVersion(version string) error {
	if n, err := strconv.ParseInt(version, 10, 64); err != nil || n <= 0 {
		return modelgate.Errorf(modelgate.EINVALID, "Parameter 'version' must be an integer, got '%s'.", version)
	}
	return nil
}

// GetVersion returns one version.
func (r *Registry) GetVersion(ctx context.Context, name, version string) (*modelgate.ModelVersion, error) {
	v, err := r.getVersionJSON(ctx, name, version)
	if err != nil {
		return nil, err
	}
	return v.toVersion(), nil
}

func (r *Registry) getVersionJSON(ctx context.Context, name, version string) (*modelVersionJSON, error) {
	if err := checkVersion(version); err != nil {
		return nil, err
	}
	var out struct {
		Version modelVersionJSON `json:"model_version"`
	}
	q := url.Values{"name": {name}, "version": {version}}
	if err := r.c.callJSON(ctx, get("model-versions/get", q), &out); err != nil {
		return nil, err
	}
	return &out.Version, nil
}

// GetVersionByAlias returns the version alias points to.
func (r *Registry) GetVersionByAlias(ctx context.Context, name, alias string) (*modelgate.ModelVersion, error) {
	var out struct {
		Version modelVersionJSON `json:"model_version"`
	}
	q := url.Values{"name": {name}, "alias": {alias}}
	if err := r.c.callJSON(ctx, get("registered-models/alias", q), &out); err != nil {
		return nil, err
	}
	return out.Version.toVersion(), nil
}
