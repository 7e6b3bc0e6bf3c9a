package mlflow

import (
	"context"
	"encoding/json"
	"math"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/modelgate/modelgate"
)

func post(path string, body any, idempotent bool) request {
	return request{method: "POST", api: "mlflow", path: path, body: body, idempotent: idempotent}
}

// del sends a DELETE with its parameters in the JSON body (what OSS MLflow
// reads) and in the query string (what Databricks documents).
func del(path string, params map[string]string) request {
	q := url.Values{}
	for k, v := range params {
		q.Set(k, v)
	}
	return request{method: "DELETE", api: "mlflow", path: path, query: q, body: params, idempotent: true}
}

// TransitionStage moves a version to stage (deprecated in MLflow since 2.9,
// still served). Invalid stages and archiveExisting with a target other than
// Staging or Production are refused here: MLflow answers the latter with a
// 500. Repeating a transition is harmless, so it is retried like a read.
func (r *Registry) TransitionStage(ctx context.Context, name, version string, stage modelgate.Stage, archiveExisting bool) (*modelgate.ModelVersion, error) {
	if err := checkVersion(version); err != nil {
		return nil, err
	}
	st, err := modelgate.ParseStage(string(stage))
	if err != nil {
		return nil, modelgate.Errorf(modelgate.EINVALID, "Invalid Model Version stage: %s. Value must be one of None, Staging, Production, Archived.", stage)
	}
	if archiveExisting && st != modelgate.StageStaging && st != modelgate.StageProduction {
		return nil, modelgate.Errorf(modelgate.EINVALID, "Model version transition cannot archive existing model versions because '%s' is not an Active stage. Valid stages are ['Staging', 'Production']", st)
	}
	body := map[string]any{"name": name, "version": version, "stage": string(st), "archive_existing_versions": archiveExisting}
	var out struct {
		Version modelVersionJSON `json:"model_version"`
	}
	if err := r.c.callJSON(ctx, post("model-versions/transition-stage", body, true), &out); err != nil {
		return nil, err
	}
	return out.Version.toVersion(), nil
}

// SetAlias points alias at version (MLflow checks the alias rules).
func (r *Registry) SetAlias(ctx context.Context, name, alias, version string) error {
	if err := checkVersion(version); err != nil {
		return err
	}
	body := map[string]string{"name": name, "alias": alias, "version": version}
	return r.c.callJSON(ctx, post("registered-models/alias", body, true), nil)
}

// DeleteAlias removes alias; a missing alias is not an error.
func (r *Registry) DeleteAlias(ctx context.Context, name, alias string) error {
	return r.c.callJSON(ctx, del("registered-models/alias", map[string]string{"name": name, "alias": alias}), nil)
}

// maxTagValue is modelgate's limit on a tag value, MLflow's before 3.x and
// the embedded registry's. MLflow 3 accepts 100000 characters; a tag that
// only one backend can hold would make backends differ, so it is checked here.
const maxTagValue = 5000

// SetVersionTag sets one version tag (MLflow checks the key rules).
func (r *Registry) SetVersionTag(ctx context.Context, name, version, key, value string) error {
	if err := checkVersion(version); err != nil {
		return err
	}
	if n := utf8.RuneCountInString(value); n > maxTagValue {
		return modelgate.Errorf(modelgate.EINVALID, "Tag value of %q has %d characters; at most %d are allowed.", key, n, maxTagValue)
	}
	body := map[string]string{"name": name, "version": version, "key": key, "value": value}
	return r.c.callJSON(ctx, post("model-versions/set-tag", body, true), nil)
}

// DeleteVersionTag removes a version tag; a missing key is not an error.
func (r *Registry) DeleteVersionTag(ctx context.Context, name, version, key string) error {
	if err := checkVersion(version); err != nil {
		return err
	}
	return r.c.callJSON(ctx, del("model-versions/delete-tag", map[string]string{"name": name, "version": version, "key": key}), nil)
}

// metricJSON is a metric as MLflow sends it; the value may be a string for
// NaN and the infinities.
type metricJSON struct {
	Key   string          `json:"key"`
	Value json.RawMessage `json:"value"`
}

func (m metricJSON) float() (float64, bool) {
	var f float64
	if json.Unmarshal(m.Value, &f) == nil {
		return f, true
	}
	var s string
	if json.Unmarshal(m.Value, &s) != nil {
		return 0, false
	}
	switch strings.ToLower(s) {
	case "nan":
		return math.NaN(), true
	case "infinity", "inf":
		return math.Inf(1), true
	case "-infinity", "-inf":
		return math.Inf(-1), true
	}
	f, err := strconv.ParseFloat(s, 64)
	return f, err == nil
}

// VersionMetrics returns the metrics logged on the version's source run
// (latest value per key), or, for a version without a run, those of its
// MLflow 3 logged model.
func (r *Registry) VersionMetrics(ctx context.Context, name, version string) (map[string]float64, error) {
	v, err := r.getVersionJSON(ctx, name, version)
	if err != nil {
		return nil, err
	}
	var metrics []metricJSON
	switch {
	case v.RunID != "":
		var out struct {
			Run struct {
				Data struct {
					Metrics []metricJSON `json:"metrics"`
				} `json:"data"`
			} `json:"run"`
		}
		if err := r.c.callJSON(ctx, get("runs/get", url.Values{"run_id": {v.RunID}}), &out); err != nil {
			return nil, err
		}
		metrics = out.Run.Data.Metrics
	case loggedModelID(v) != "":
		lm, err := r.loggedModel(ctx, loggedModelID(v))
		if err != nil {
			return nil, err
		}
		metrics = lm.Data.Metrics
	}
	m := map[string]float64{}
	for _, mt := range metrics {
		if f, ok := mt.float(); ok {
			m[mt.Key] = f
		}
	}
	return m, nil
}

// loggedModelID returns the MLflow 3 logged model behind a version: its
// model_id, or the id in a models:/m-… source.
func loggedModelID(v *modelVersionJSON) string {
	if v.ModelID != "" {
		return v.ModelID
	}
	if id, ok := strings.CutPrefix(v.Source, "models:/"); ok && strings.HasPrefix(id, "m-") && !strings.Contains(id, "/") {
		return id
	}
	return ""
}

type loggedModelJSON struct {
	Info struct {
		ModelID     string `json:"model_id"`
		ArtifactURI string `json:"artifact_uri"`
	} `json:"info"`
	Data struct {
		Metrics []metricJSON `json:"metrics"`
	} `json:"data"`
}

func (r *Registry) loggedModel(ctx context.Context, id string) (*loggedModelJSON, error) {
	var out struct {
		Model loggedModelJSON `json:"model"`
	}
	if err := r.c.callJSON(ctx, get("logged-models/"+id, nil), &out); err != nil {
		return nil, err
	}
	return &out.Model, nil
}
